module apiproxy.local/benchload

go 1.26
