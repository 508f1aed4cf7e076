module apiproxy.local/engine/command

go 1.26
