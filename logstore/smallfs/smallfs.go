// Package smallfs mounts a small file system for tests that fill a disk:
// a loop-mounted ext4 where mkfs.ext4 and loop devices are available (as
// root), else tmpfs. It is for tests only.
package smallfs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// Mount mounts a file system of size bytes in a temporary directory, skips
// the test when none can be mounted (not root, no loop device), and
// unmounts it when the test ends: close every file on it before then.
// ext4 tells whether it is ext4 (else tmpfs).
func Mount(t testing.TB, size int64) (dir string, ext4 bool) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a small file system needs root")
	}
	tmp := t.TempDir()
	mnt := filepath.Join(tmp, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(tmp, "fs.img")
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, size); err != nil {
		t.Fatal(err)
	}
	ext4 = exec.Command("mkfs.ext4", "-q", "-F", "-m", "0", img).Run() == nil &&
		exec.Command("mount", "-o", "loop", img, mnt).Run() == nil
	if !ext4 {
		out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.FormatInt(size, 10), "tmpfs", mnt).CombinedOutput()
		if err != nil {
			t.Skipf("cannot mount a small file system: %v %s", err, out)
		}
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", mnt, err, out)
		}
	})
	return mnt, ext4
}

// MountTmpfs mounts a tmpfs of size bytes and at most inodes files and
// directories (for running out of inodes rather than blocks); it skips the
// test when it cannot.
func MountTmpfs(t testing.TB, size int64, inodes int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting tmpfs needs root")
	}
	mnt := t.TempDir()
	opts := "size=" + strconv.FormatInt(size, 10) + ",nr_inodes=" + strconv.Itoa(inodes)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", mnt, err, out)
		}
	})
	return mnt
}

// UseInodes creates empty files in dir until no inode is left, then removes
// keep of them, and returns a function that removes the rest.
func UseInodes(t testing.TB, dir string, keep int) (free func()) {
	t.Helper()
	var paths []string
	for i := 0; ; i++ {
		p := filepath.Join(dir, "inode-"+strconv.Itoa(i))
		f, err := os.Create(p)
		if err != nil {
			break
		}
		f.Close()
		paths = append(paths, p)
	}
	for ; keep > 0 && len(paths) > 0; keep-- {
		os.Remove(paths[len(paths)-1])
		paths = paths[:len(paths)-1]
	}
	return func() {
		for _, p := range paths {
			os.Remove(p)
		}
	}
}

// Fill writes files into dir until the file system has no block left and
// returns their paths; removing them frees the space again.
func Fill(t testing.TB, dir string) []string {
	t.Helper()
	var paths []string
	for i, size := range []int{1 << 20, 64 << 10, 4 << 10, 512} {
		p := filepath.Join(dir, "fill-"+strconv.Itoa(i))
		f, err := os.Create(p)
		if err != nil {
			break // not even an inode or a directory block left
		}
		paths = append(paths, p)
		buf := make([]byte, size)
		for {
			if _, err := f.Write(buf); err != nil {
				break
			}
		}
		f.Close()
	}
	return paths
}
