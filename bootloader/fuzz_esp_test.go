package bootloader

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem"
	"github.com/diskfs/go-diskfs/filesystem/fat12"
)

// memImage is a device image in memory, as readESPImage reads a block device.
type memImage struct{ *bytes.Reader }

func (memImage) Close() error { return nil }

func (m memImage) Stat() (fs.FileInfo, error) { return memInfo(m.Size()), nil }

type memInfo int64

func (memInfo) Name() string       { return "esp" }
func (i memInfo) Size() int64      { return int64(i) }
func (memInfo) Mode() fs.FileMode  { return 0o400 }
func (memInfo) ModTime() time.Time { return time.Time{} }
func (memInfo) IsDir() bool        { return false }
func (memInfo) Sys() any           { return nil }

// smallESP is a FAT12 image of size bytes made by go-diskfs with files (path -> content):
// small enough for the fuzzer to mutate its boot sector, FAT and directory entries.
func smallESP(t testing.TB, size int64, files map[string]string) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "esp.img")
	b, err := file.CreateFromPath(p, size)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var fsys filesystem.FileSystem
	if fsys, err = fat12.Create(b, size, 0, 512, "ESP", true); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := fsys.Mkdir("/" + filepath.Dir(name)); err != nil {
			t.Fatal(err)
		}
		f, err := fsys.OpenFile("/"+name, os.O_CREATE|os.O_RDWR)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	out, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// FuzzReadESPImage feeds the FAT reader status uses (the boot sector, the FAT's chains, then
// go-diskfs's directory entries and file data) damaged file systems: it must answer with a
// result or an error, without the panic readESPFiles would have to turn into "damaged", and
// every file it says it read has a checksum and a size no larger than the image.
func FuzzReadESPImage(f *testing.F) {
	const loader = "EFI/debian/grubx64.efi"
	f.Add(smallESP(f, 64<<10, map[string]string{loader: "grub core", FallbackPath: "grub core"}))
	f.Add(smallESP(f, 48<<10, map[string]string{loader: "grub"}))
	f.Add(smallESP(f, 32<<10, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		out := readESPImage(memImage{bytes.NewReader(b)}, int64(len(b)), "/dev/fuzz", loader)
		for _, fl := range out.Files {
			if out.Err == nil && (fl.SHA256 == ([32]byte{}) || fl.Size > int64(len(b))) {
				t.Fatalf("%s read without a checksum, or larger than the image: %+v", fl.Path, fl)
			}
		}
	})
}

// TestReadESPImageSmall: the fuzzer's seed images read as status reads an ESP.
func TestReadESPImageSmall(t *testing.T) {
	img := smallESP(t, 256<<10, map[string]string{"EFI/debian/grubx64.efi": "grub core", FallbackPath: "grub core"})
	out := readESPImage(memImage{bytes.NewReader(img)}, int64(len(img)), "/dev/x", "EFI/debian/grubx64.efi")
	if out.Err != nil || !hasFile(out.Files, "EFI/debian/grubx64.efi") || !hasFile(out.Files, FallbackPath) {
		t.Fatalf("%+v", out)
	}
}
