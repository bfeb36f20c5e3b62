package sim

import (
	"net/netip"
	"testing"

	"github.com/tcpsim/tcpsim/stack"
)

// netPair is a client and a server host joined by one link, with
// server.example in the hosts table.
type netPair struct {
	w              *World
	link           *Link
	client, server *stack.Host
}

var (
	netClientAddr = netip.MustParsePrefix("10.0.0.1/24")
	netServerAddr = netip.MustParsePrefix("10.0.0.2/24")
)

func newNetHost(t testing.TB, w *World, name string, tcp stack.TCPConfig) *stack.Host {
	t.Helper()
	env := w.NewHostEnv()
	h, err := stack.NewHost(stack.HostConfig{Name: name, Env: env, Seed: w.SeedFor("host", name), TCP: tcp})
	if err != nil {
		t.Fatal(err)
	}
	env.Bind(h)
	if err := w.AddNode(name, h); err != nil {
		t.Fatal(err)
	}
	return h
}

func newNetPair(t testing.TB, cfg Config, d DirConfig) *netPair {
	t.Helper()
	w := New(cfg)
	p := &netPair{w: w}
	p.client = newNetHost(t, w, "client", stack.TCPConfig{})
	p.server = newNetHost(t, w, "server", stack.TCPConfig{})
	l, err := w.Connect("client", netClientAddr, "server", netServerAddr, Symmetric("wire", d))
	if err != nil {
		t.Fatal(err)
	}
	p.link = l
	if err := w.AddHostEntry("server.example", netServerAddr.Addr()); err != nil {
		t.Fatal(err)
	}
	return p
}
