//go:build linux

package tun_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/sim/tun"
	"github.com/tcpsim/tcpsim/sim/tun/tuntest"
)

// With TCPSIM_TUN_OPEN=NAME the test binary only opens that device and
// prints the error, for TestOpenNotPermitted's unprivileged child.
func init() {
	if name := os.Getenv("TCPSIM_TUN_OPEN"); name != "" {
		d, err := tun.Open(name)
		if err == nil {
			d.Close()
			fmt.Println("opened")
			os.Exit(0)
		}
		fmt.Printf("permission=%v: %v\n", errors.Is(err, tun.ErrPermission), err)
		os.Exit(1)
	}
}

// TestOpenNotPermitted opens a root-owned device as an unprivileged user
// (uid 65534, via setpriv) inside a namespace: the error must say that it is
// not permitted and how to fix it.
func TestOpenNotPermitted(t *testing.T) {
	ns := tuntest.NewNamespace(t, "setpriv")
	ns.IP("tuntap", "add", "dev", "root0", "mode", "tun", "user", "0")
	ns.IP("link", "set", "dev", "root0", "up")

	// A copy of this test binary that the unprivileged user can run.
	dir, err := os.MkdirTemp("", "tcpsim-tun-perm-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "tun.test")
	if err := copyFile(os.Args[0], bin); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := ns.Command(ctx, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", bin)
	cmd.Env = append(os.Environ(), "TCPSIM_TUN_OPEN=root0")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("unprivileged open: %v: %s", err, out)
	}
	// Which check refuses depends on the mode of /dev/net/tun here: opening
	// the node (mode 0600), or attaching to root's device (mode 0666).
	for _, want := range []string{"permission=true", "not permitted", "run as root"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("unprivileged open printed %q; want it to contain %q", out, want)
		}
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
