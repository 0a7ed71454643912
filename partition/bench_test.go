package partition

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/raidswap/raidswap/internal/host"
)

// gpt128 is a GPT whose 128 entries are all in use (4 MiB each), made by sgdisk.
func gpt128(b *testing.B) string {
	needTool(b, host.Sgdisk)
	img := newImage(b, "gpt128.img", 520<<20)
	args := []string{host.Sgdisk}
	for i := 1; i <= 128; i++ {
		args = append(args, fmt.Sprintf("-n%d:0:+4M", i), fmt.Sprintf("-t%d:fd00", i), fmt.Sprintf("-c%d:member %d", i, i))
	}
	run(b, append(args, img)...)
	return img
}

// BenchmarkCloneGPT128 is `raidswap partition clone` of a 128-entry GPT onto an image file:
// read, md superblock scan of every partition, plan, existing-data scan, both backups (with
// fsync), wipe, write (with fsync), read-back through both readers.
func BenchmarkCloneGPT128(b *testing.B) {
	src := gpt128(b)
	dir := b.TempDir()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dst := filepath.Join(dir, fmt.Sprintf("dst%d.img", i))
		if err := os.WriteFile(dst, nil, 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.Truncate(dst, 520<<20); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := Clone(host.NewRoot("/"), CloneRequest{Source: src, Target: dst, BackupDir: filepath.Join(dir, "bk"), Rand: seeded(int64(i))})
		if err != nil {
			b.Fatal(err)
		}
		if !res.Verified || len(res.Layout.Partitions) != 128 {
			b.Fatalf("verified %v, %d partitions", res.Verified, len(res.Layout.Partitions))
		}
		b.StopTimer()
		os.Remove(dst)
		b.StartTimer()
	}
}

// BenchmarkPlanRenderGPT128 is the computation alone: plan and render a 128-entry GPT in
// memory, including the self-check that parses the rendering back.
func BenchmarkPlanRenderGPT128(b *testing.B) {
	g := geo(520<<20, 512, 4096)
	var parts [][2]int64
	for i := 0; i < 128; i++ {
		parts = append(parts, [2]int64{mb + int64(i)*4*mb, 4 * mb})
	}
	src := gptSrc(g, parts...)
	for i := range src.Partitions {
		src.Partitions[i].GUID = fmt.Sprintf("AAAAAAAA-0000-4000-8000-%012d", i)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		lay, _, err := PlanClone(src, g, nil, PlanOptions{Rand: seeded(int64(i))})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := encode(lay); err != nil {
			b.Fatal(err)
		}
	}
}
