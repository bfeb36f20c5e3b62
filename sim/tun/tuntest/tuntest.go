//go:build linux

// Package tuntest gives tests a private Linux network namespace with a TUN
// device in it, so that tcpsim can talk to the real kernel without any packet
// leaving the machine.
//
// NewNamespace creates a namespace named tcpsim-test-<pid>-<random> with `ip
// netns add`, and registers its removal (after killing every process the test
// started in it) with t.Cleanup, so it goes away even when the test fails.
// The namespace has only its loopback interface and the TUN devices the test
// adds: there is no link to the host's network.
//
// How the two sides run inside it:
//   - the tcpsim side opens the TUN device from a goroutine locked to an OS
//     thread that has joined the namespace (tun.InNamespace); the file
//     descriptor stays bound to the namespace's device afterwards, so the rest
//     of the test runs on ordinary goroutines;
//   - in-process kernel-side Go code (an HTTP server or client on real kernel
//     sockets) gets its sockets the same way: Listen and DialContext create the
//     socket on a thread inside the namespace;
//   - external programs (curl, ss) run as child processes under `ip netns
//     exec`, which also gives them the namespace's view of /sys.
//
// Everything needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN), /dev/net/tun and
// the ip command from iproute2; without them NewNamespace skips the test with
// a one-line reason.
//
// It is a test helper, not part of the simulator.
package tuntest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tcpsim/tcpsim/sim/tun"
)

// Namespace is a network namespace that exists for the length of one test.
type Namespace struct {
	// Name is the namespace's name, as `ip netns list` shows it.
	Name string
	// Path is its bind mount, for tun.OpenInNamespace and setns.
	Path string

	t     testing.TB
	mu    sync.Mutex
	procs []*exec.Cmd
}

// Skip reports why kernel tests cannot run here, or "" when they can: they
// need root, /dev/net/tun and the listed commands (ip is always needed).
func Skip(commands ...string) string {
	if os.Geteuid() != 0 {
		return "needs root to create network namespaces and TUN devices"
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		return "needs /dev/net/tun (modprobe tun): " + err.Error()
	}
	for _, c := range append([]string{"ip"}, commands...) {
		if _, err := exec.LookPath(c); err != nil {
			return fmt.Sprintf("needs the %s command (apt-get install %s)", c, packageOf(c))
		}
	}
	return ""
}

func packageOf(cmd string) string {
	switch cmd {
	case "ip", "ss":
		return "iproute2"
	}
	return cmd
}

// NewNamespace creates a fresh namespace with its loopback up and IPv6 off
// (so the kernel sends nothing but the IPv4 the test asks for), or skips t
// when Skip(commands...) gives a reason.
func NewNamespace(t testing.TB, commands ...string) *Namespace {
	t.Helper()
	if why := Skip(commands...); why != "" {
		t.Skip(why)
	}
	sweepStale()
	var rnd [4]byte
	rand.Read(rnd[:])
	name := fmt.Sprintf("%s%d-%s", prefix, os.Getpid(), hex.EncodeToString(rnd[:]))
	ns := &Namespace{Name: name, Path: "/var/run/netns/" + name, t: t}
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	t.Cleanup(ns.destroy)
	ns.IP("link", "set", "lo", "up")
	ns.MustRun("sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
	return ns
}

// prefix starts the name of every namespace made here; the creating
// process's id follows it.
const prefix = "tcpsim-test-"

// sweepStale deletes namespaces left behind by test processes that no
// longer exist (killed by a timeout before their clean-up ran). Namespaces
// of live processes, this one's included, are left alone.
func sweepStale() {
	entries, _ := os.ReadDir("/var/run/netns")
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok {
			continue
		}
		pidStr, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil || pid <= 0 {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			continue
		}
		exec.Command("ip", "netns", "del", e.Name()).Run()
	}
}

func (ns *Namespace) destroy() {
	ns.mu.Lock()
	procs := ns.procs
	ns.procs = nil
	ns.mu.Unlock()
	for _, c := range procs {
		if c.Process != nil {
			c.Process.Kill()
			c.Wait()
		}
	}
	if out, err := exec.Command("ip", "netns", "del", ns.Name).CombinedOutput(); err != nil {
		ns.t.Errorf("ip netns del %s: %v: %s", ns.Name, err, out)
	}
}

// IP runs `ip -n NAME args...` and fails the test on error.
func (ns *Namespace) IP(args ...string) string {
	ns.t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", ns.Name}, args...)...).CombinedOutput()
	if err != nil {
		ns.t.Fatalf("ip -n %s %s: %v: %s", ns.Name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Command returns a command that runs argv inside the namespace.
func (ns *Namespace) Command(ctx context.Context, argv ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.Name}, argv...)...)
}

// Run runs argv inside the namespace and returns its standard output; on
// failure the error includes standard error.
func (ns *Namespace) Run(ctx context.Context, argv ...string) ([]byte, error) {
	cmd := ns.Command(ctx, argv...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s (in %s): %w: %s", strings.Join(argv, " "), ns.Name, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}

// MustRun is Run with a one-minute limit that fails the test on error.
func (ns *Namespace) MustRun(argv ...string) string {
	ns.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := ns.Run(ctx, argv...)
	if err != nil {
		ns.t.Fatal(err)
	}
	return string(out)
}

// Start starts argv inside the namespace in the background. It is killed at
// clean-up if still running.
func (ns *Namespace) Start(cmd *exec.Cmd) error {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return err
	}
	ns.procs = append(ns.procs, cmd)
	return nil
}

// AddTUN creates the persistent TUN device name in the namespace, gives the
// kernel's side the address kernelAddr (e.g. 192.0.2.1/24), sets the MTU
// (zero leaves the default, 1500) and brings it up. Open it with
// ns.OpenTUN. The device goes with the namespace.
func (ns *Namespace) AddTUN(name string, kernelAddr netip.Prefix, mtu int) {
	ns.t.Helper()
	ns.IP("tuntap", "add", "dev", name, "mode", "tun")
	ns.IP("addr", "add", kernelAddr.String(), "dev", name)
	if mtu != 0 {
		ns.IP("link", "set", "dev", name, "mtu", fmt.Sprint(mtu))
	}
	ns.IP("link", "set", "dev", name, "up")
}

// OpenTUN opens the TUN device name inside the namespace.
func (ns *Namespace) OpenTUN(name string) (*tun.Device, error) {
	return tun.OpenInNamespace(ns.Path, name)
}

// Do runs fn on a thread inside the namespace (tun.InNamespace).
func (ns *Namespace) Do(fn func() error) error { return tun.InNamespace(ns.Path, fn) }

// Listen opens a kernel listening socket inside the namespace.
func (ns *Namespace) Listen(network, address string) (net.Listener, error) {
	var l net.Listener
	err := ns.Do(func() (err error) {
		l, err = net.Listen(network, address)
		return err
	})
	return l, err
}

// ListenPacket opens a kernel packet socket (e.g. "udp4") inside the namespace.
func (ns *Namespace) ListenPacket(network, address string) (net.PacketConn, error) {
	var c net.PacketConn
	err := ns.Do(func() (err error) {
		c, err = net.ListenPacket(network, address)
		return err
	})
	return c, err
}

// DialContext opens a kernel socket inside the namespace and connects it.
func (ns *Namespace) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	var c net.Conn
	err := ns.Do(func() (err error) {
		var d net.Dialer
		c, err = d.DialContext(ctx, network, address)
		return err
	})
	return c, err
}

// HTTPClient returns an http.Client whose connections are kernel sockets in
// the namespace.
func (ns *Namespace) HTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:        ns.DialContext,
		DisableCompression: true,
	}}
}

// Sockets returns `ss -tanoi` as run inside the namespace: every TCP socket
// with its state, timers and TCP info, for checks and failure messages.
func (ns *Namespace) Sockets() string {
	ns.t.Helper()
	return ns.MustRun("ss", "-tanoi")
}

// Counter returns one of the kernel's TCP counters (from `nstat -az`, e.g.
// "TcpOutRsts", "TcpExtTCPAbortOnData") inside the namespace.
func (ns *Namespace) Counter(name string) (uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := ns.Run(ctx, "nstat", "-az", "--json")
	if err != nil {
		return 0, err
	}
	// The JSON is {"kernel":{"Name":value,...}}; a plain scan avoids
	// depending on its exact nesting.
	key := []byte(`"` + name + `":`)
	i := bytes.Index(out, key)
	if i < 0 {
		return 0, fmt.Errorf("nstat has no counter %q", name)
	}
	var v uint64
	if _, err := fmt.Sscan(string(out[i+len(key):]), &v); err != nil {
		return 0, fmt.Errorf("nstat counter %q: %w", name, err)
	}
	return v, nil
}
