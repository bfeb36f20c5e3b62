package report_test

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/tcpsim/tcpsim/report"
	"github.com/tcpsim/tcpsim/sim"
	"github.com/tcpsim/tcpsim/stack"
)

// A report of one connection: the Recorder reads the world's events and
// samples the connections it is given; Write draws the page.
func ExampleRecorder() {
	var conns []*stack.Conn
	rec := report.New(report.Options{SampleEvery: 5 * time.Millisecond, Conns: func() []*stack.Conn { return conns }})
	w := sim.New(sim.Config{Seed: 1, StreamOnly: true, OnEvent: rec.Event})
	defer w.Close()
	link, _ := w.NewLink(sim.Symmetric("wire", sim.DirConfig{Delay: 10 * time.Millisecond, Rate: 10e6, QueuePackets: 100, MTU: 1500}))
	var hosts []*stack.Host
	for i, name := range []string{"client", "server"} {
		env := w.NewHostEnv()
		h, _ := stack.NewHost(stack.HostConfig{Name: name, Env: env, Seed: w.SeedFor("host", name)})
		env.Bind(h)
		w.AddNode(name, h)
		idx, _ := h.AddInterface(netip.MustParsePrefix(fmt.Sprintf("10.0.0.%d/24", i+1)), link.End(i), 1500)
		link.End(i).Attach(name, h, idx)
		hosts = append(hosts, h)
	}
	ln, _ := sim.NewTaskNet(w, hosts[1]).Listen("tcp", ":80")
	w.Spawn("server", func(t *sim.Task) {
		c, _ := ln.Accept()
		conns = append(conns, c.(*sim.Conn).Stack())
		c.Write(make([]byte, 20000))
		c.Close()
	})
	w.Spawn("client", func(t *sim.Task) {
		c, _ := sim.NewTaskNet(w, hosts[0]).Dial("tcp", "10.0.0.2:80")
		conns = append(conns, c.(*sim.Conn).Stack())
		var buf [4096]byte
		for {
			if _, err := c.Read(buf[:]); err != nil {
				break
			}
		}
		c.Close()
		w.Stop()
	})
	w.Run()
	rec.Stop()

	var page bytes.Buffer
	rec.Write(&page, report.Meta{Title: "20 kB from server to client"})
	for _, p := range report.Pictures(page.Bytes()) {
		fmt.Println(p.Name)
	}
	fmt.Println(strings.Contains(page.String(), "http://"))

	pics, missing := rec.Plots([]string{"tsg", "fairness"}, report.Meta{})
	for _, p := range pics {
		png, err := report.PNG(p.SVG)
		fmt.Println(p.Name, len(png) > 0, err)
	}
	fmt.Println(missing)
	// Output:
	// ladder
	// tsg-1
	// stevens-1
	// cwnd-1
	// rtt-1
	// throughput-1
	// false
	// tsg-1 true <nil>
	// fairness true <nil>
	// []
}
