package command

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"apiproxy.local/engine/providers/internal/plugin"
	"github.com/pkg/sftp"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

var copyToRemoteSchema = &plugin.Schema{Token: "command:remote:CopyToRemote", Fields: []plugin.Field{
	{Name: "connection", Kind: plugin.Object, Required: true, Fields: connectionFields(true)},
	{Name: "triggers", Kind: plugin.AnyList, Replaces: true},
	{Name: "source", Kind: plugin.AssetOrArchive, Required: true},
	{Name: "remotePath", Kind: plugin.String, Required: true},
}}

var copyFileSchema = &plugin.Schema{Token: "command:remote:CopyFile", Fields: []plugin.Field{
	{Name: "connection", Kind: plugin.Object, Required: true, Fields: connectionFields(true), Replaces: true},
	{Name: "triggers", Kind: plugin.AnyList, Replaces: true},
	{Name: "localPath", Kind: plugin.String, Required: true, Replaces: true},
	{Name: "remotePath", Kind: plugin.String, Required: true, Replaces: true},
}}

// sourceProblem: the sources @pulumi/command 1.2.1 copies are a FileAsset, a StringAsset and a
// FileArchive (a local directory, or an archive file copied as it is).
func sourceProblem(v resource.PropertyValue) string {
	switch {
	case v.IsAsset():
		if a := v.AssetValue(); a.IsURI() {
			return "is a RemoteAsset: only FileAsset and StringAsset sources are supported (as @pulumi/command 1.2.1)"
		}
	case v.IsArchive():
		if a := v.ArchiveValue(); !a.IsPath() {
			return "is an AssetArchive or RemoteArchive: only FileArchive sources are supported (as @pulumi/command 1.2.1)"
		}
	}
	return ""
}

type copyToRemote struct{}

func (copyToRemote) Schema() *plugin.Schema { return copyToRemoteSchema }
func (copyToRemote) Outputs() []string      { return nil }

func (copyToRemote) Validate(in resource.PropertyMap) []plugin.Failure {
	if v := plugin.Plain(in["source"]); plugin.Known(v) {
		if p := sourceProblem(v); p != "" {
			return []plugin.Failure{{Property: "source", Reason: "property source " + p}}
		}
	}
	return nil
}

func (copyToRemote) Create(c plugin.Call, in plugin.Args) (string, resource.PropertyMap, error) {
	if err := copySource(c, in); err != nil {
		return "", nil, err
	}
	return randomSuffix(), withoutCommandOutputs(outputsWith(in, "", "")), nil
}

func (copyToRemote) Read(_ plugin.Call, _ string, _ plugin.Args, state resource.PropertyMap) (resource.PropertyMap, error) {
	return state, nil
}

// Update copies again only when the source content or the remote path changed; a new
// connection alone is recorded.
func (copyToRemote) Update(c plugin.Call, _ string, in, old plugin.Args, state resource.PropertyMap) (resource.PropertyMap, error) {
	sameSource := plugin.Unsecret(in.M["source"]).DeepEquals(plugin.Unsecret(old.M["source"]))
	if !sameSource || in.Str("remotePath") != old.Str("remotePath") {
		if err := copySource(c, in); err != nil {
			return nil, err
		}
	}
	return withoutCommandOutputs(outputsWith(in, "", "")), nil
}

// Delete leaves the copied files in place, as upstream: removing them is a command's job.
func (copyToRemote) Delete(plugin.Call, string, plugin.Args, resource.PropertyMap) error { return nil }

func withoutCommandOutputs(m resource.PropertyMap) resource.PropertyMap {
	delete(m, "stdout")
	delete(m, "stderr")
	return m
}

type copyFile struct{}

func (copyFile) Schema() *plugin.Schema { return copyFileSchema }
func (copyFile) Outputs() []string      { return nil }

func (copyFile) Create(c plugin.Call, in plugin.Args) (string, resource.PropertyMap, error) {
	local, err := os.Open(in.Str("localPath"))
	if err != nil {
		return "", nil, fmt.Errorf("localPath: %w", err)
	}
	defer local.Close()
	err = withSFTP(c, in, func(s *sftp.Client) error {
		return writeRemote(s, in.Str("remotePath"), local, nil)
	})
	if err != nil {
		return "", nil, err
	}
	return randomSuffix(), withoutCommandOutputs(outputsWith(in, "", "")), nil
}

func (copyFile) Read(_ plugin.Call, _ string, _ plugin.Args, state resource.PropertyMap) (resource.PropertyMap, error) {
	return state, nil
}

func (copyFile) Update(_ plugin.Call, _ string, in, _ plugin.Args, _ resource.PropertyMap) (resource.PropertyMap, error) {
	return withoutCommandOutputs(outputsWith(in, "", "")), nil
}

func (copyFile) Delete(plugin.Call, string, plugin.Args, resource.PropertyMap) error { return nil }

func withSFTP(c plugin.Call, in plugin.Args, fn func(*sftp.Client) error) error {
	client, err := dialSSH(c, in.Obj("connection"))
	if err != nil {
		return err
	}
	defer client.Close()
	s, err := sftp.NewClient(client)
	if err != nil {
		return fmt.Errorf("starting SFTP (the server needs a `Subsystem sftp` line): %w", err)
	}
	defer s.Close()
	return fn(s)
}

// localPath resolves a FileAsset / FileArchive path against the program directory (the
// provider's working directory), keeping a trailing slash.
func localPath(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	abs := filepath.Join(wd, p)
	if strings.HasSuffix(p, "/") {
		abs += "/"
	}
	return abs
}

func copySource(c plugin.Call, in plugin.Args) error {
	src := plugin.Plain(in.M["source"])
	remote := in.Str("remotePath")
	return withSFTP(c, in, func(s *sftp.Client) error {
		isDir := func(p string) bool { fi, err := s.Stat(p); return err == nil && fi.IsDir() }
		switch {
		case src.IsAsset() && src.AssetValue().IsText():
			if isDir(remote) {
				return fmt.Errorf("%s is a directory; when using a text asset, remotePath must be a file path", remote)
			}
			text, _ := src.AssetValue().GetText()
			return writeRemote(s, remote, strings.NewReader(text), nil)
		case src.IsAsset() && src.AssetValue().IsPath():
			return copyLocalFile(s, localPath(src.AssetValue().Path), remote, isDir(remote))
		case src.IsArchive() && src.ArchiveValue().IsPath():
			local := localPath(src.ArchiveValue().Path)
			fi, err := os.Stat(local)
			if err != nil {
				return fmt.Errorf("source: %w", err)
			}
			if !fi.IsDir() {
				return copyLocalFile(s, local, remote, isDir(remote)) // an archive file, copied as it is
			}
			if fi, err := s.Stat(remote); err == nil && !fi.IsDir() {
				return fmt.Errorf("remotePath %s is a file; a directory source needs a directory", remote)
			}
			dest := remote
			if !strings.HasSuffix(local, "/") {
				dest = path.Join(remote, filepath.Base(local))
			}
			return copyTree(s, local, dest)
		}
		return fmt.Errorf("source %s is not supported (FileAsset, StringAsset, FileArchive)", describe(src))
	})
}

func describe(v resource.PropertyValue) string {
	switch {
	case v.IsAsset():
		return fmt.Sprintf("asset %+v", *v.AssetValue())
	case v.IsArchive():
		return fmt.Sprintf("archive %s", v.ArchiveValue().Path)
	}
	return v.TypeString()
}

// copyLocalFile copies one local file: into remote when it is a directory, else to remote.
func copyLocalFile(s *sftp.Client, local, remote string, remoteIsDir bool) error {
	f, err := os.Open(local)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	dest := remote
	if remoteIsDir {
		dest = path.Join(remote, filepath.Base(local))
	}
	mode := fi.Mode().Perm()
	return writeRemote(s, dest, f, &mode)
}

func copyTree(s *sftp.Client, local, dest string) error {
	return filepath.WalkDir(local, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(local, p)
		target := path.Join(dest, filepath.ToSlash(rel))
		if d.IsDir() {
			return s.MkdirAll(target)
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("source %s: only regular files and directories can be copied", p)
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		mode := fi.Mode().Perm()
		return writeRemote(s, target, f, &mode)
	})
}

// writeRemote writes content to dest atomically: a temporary file beside it, the mode set,
// then renamed over dest, so a reader (nginx reloading) never sees half a file. Parent
// directories are created. mode nil keeps the server's default for new files.
func writeRemote(s *sftp.Client, dest string, content io.Reader, mode *fs.FileMode) error {
	dir := path.Dir(dest)
	if err := s.MkdirAll(dir); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	tmp := path.Join(dir, "."+path.Base(dest)+".pulumi-"+randomSuffix())
	f, err := s.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return fmt.Errorf("creating %s: %w", tmp, err)
	}
	_, err = io.Copy(f, content)
	if err == nil && mode != nil {
		err = f.Chmod(*mode)
	}
	err = errors.Join(err, f.Close())
	if err == nil {
		err = s.PosixRename(tmp, dest)
	}
	if err != nil {
		_ = s.Remove(tmp)
		return fmt.Errorf("writing %s: %w", dest, err)
	}
	return nil
}
