package sim

import (
	"context"
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

// udpEcho serves one UDP echo exchange per datagram until its socket closes.
func udpEcho(pc net.PacketConn) {
	buf := make([]byte, 2048)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		pc.WriteTo(append([]byte("echo:"), buf[:n]...), from)
	}
}

func TestTaskUDP(t *testing.T) {
	p := newNetPair(t, Config{Seed: 1}, DirConfig{Delay: 10 * time.Millisecond})
	cn, sn := NewTaskNet(p.w, p.client), NewTaskNet(p.w, p.server)
	var srv net.PacketConn
	p.w.Spawn("server", func(tk *Task) {
		var err error
		if srv, err = sn.ListenPacket("udp", ":7"); err != nil {
			t.Error(err)
			return
		}
		udpEcho(srv)
	})
	p.w.Spawn("client", func(tk *Task) {
		defer srv.Close()
		c, err := cn.Dial("udp", "server.example:7")
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		if _, ok := c.(net.PacketConn); !ok {
			t.Error("a dialled UDP conn is not a net.PacketConn (Go's resolver needs it)")
		}
		start := tk.Now()
		if _, err := c.Write([]byte("hi")); err != nil {
			t.Error(err)
			return
		}
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != "echo:hi" {
			t.Errorf("Read = %q, %v", buf[:n], err)
		}
		if rtt := tk.Now() - start; rtt != 20*time.Millisecond {
			t.Errorf("round trip %v, want 20ms", rtt)
		}
		// A read deadline in virtual time.
		c.SetReadDeadline(cn.Now().Add(50 * time.Millisecond))
		before := tk.Now()
		if _, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("Read with nothing coming: %v, want os.ErrDeadlineExceeded", err)
		}
		if waited := tk.Now() - before; waited != 50*time.Millisecond {
			t.Errorf("deadline fired after %v, want 50ms", waited)
		}
		// A closed port: the ICMP port unreachable refuses the next call.
		d, err := cn.Dial("udp", "server.example:9")
		if err != nil {
			t.Error(err)
			return
		}
		defer d.Close()
		d.Write([]byte("anyone?"))
		d.SetReadDeadline(cn.Now().Add(time.Second))
		var oe *net.OpError
		if _, err := d.Read(buf); !errors.Is(err, syscall.ECONNREFUSED) || !errors.As(err, &oe) {
			t.Errorf("Read after port unreachable: %v, want *net.OpError with ECONNREFUSED", err)
		}
	})
	if err := p.w.Run(); err != nil {
		t.Fatal(err)
	}
	if c := p.server.Counters(); c.UDPNoPorts != 1 || c.UDPInDatagrams != 1 {
		t.Errorf("server counters: %d no-port, %d delivered; want 1 and 1", c.UDPNoPorts, c.UDPInDatagrams)
	}
}

func TestUDPMisuse(t *testing.T) {
	p := newNetPair(t, Config{Seed: 2}, DirConfig{Delay: time.Millisecond})
	cn := NewTaskNet(p.w, p.client)
	if _, err := cn.ListenPacket("udp", ":1"); !errors.Is(err, ErrNotInTask) {
		t.Errorf("ListenPacket outside a task: %v, want ErrNotInTask", err)
	}
	if _, err := cn.ListenPacket("tcp", ":1"); !errors.Is(err, ErrNetwork) {
		t.Errorf("ListenPacket tcp: %v, want ErrNetwork", err)
	}
	p.w.Spawn("c", func(tk *Task) {
		a, err := cn.ListenPacket("udp", ":5000")
		if err != nil {
			t.Error(err)
			return
		}
		if _, err := cn.ListenPacket("udp4", ":5000"); !errors.Is(err, syscall.EADDRINUSE) {
			t.Errorf("second bind: %v, want EADDRINUSE", err)
		}
		if _, err := a.WriteTo(make([]byte, 1473), &net.UDPAddr{IP: net.IPv4(10, 0, 0, 2), Port: 7}); !errors.Is(err, syscall.EMSGSIZE) {
			t.Errorf("1473-byte datagram on MTU 1500: %v, want EMSGSIZE", err)
		}
		if _, err := a.(net.Conn).Write([]byte("x")); err == nil {
			t.Error("Write on an unconnected socket succeeded")
		}
		a.Close()
		if _, _, err := a.ReadFrom(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
			t.Errorf("ReadFrom after Close: %v, want net.ErrClosed", err)
		}
		if _, err := cn.Dial("udp", "nowhere.example:53"); err == nil {
			t.Error("dial of an unknown name succeeded")
		}
	})
	if err := p.w.Run(); err != nil {
		t.Fatal(err)
	}
}

func TestLoopUDP(t *testing.T) {
	defer goleak.VerifyNone(t)
	synctest.Test(t, func(t *testing.T) {
		_, l, cn, sn := loopPair(t, Config{Seed: 3}, DirConfig{Delay: 5 * time.Millisecond})
		defer l.Close()
		srv, err := sn.ListenPacket("udp", ":7")
		if err != nil {
			t.Fatal(err)
		}
		go udpEcho(srv)
		defer srv.Close()
		c, err := cn.DialContext(context.Background(), "udp", "server.example:7")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		c.Write([]byte("loop"))
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != "echo:loop" {
			t.Fatalf("Read = %q, %v", buf[:n], err)
		}
		// The loop services each call a nanosecond after it arrives.
		if rtt := time.Since(start); rtt < 10*time.Millisecond || rtt > 10*time.Millisecond+time.Microsecond {
			t.Errorf("round trip %v of fake time, want 10ms", rtt)
		}
		c.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
		if _, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("Read with nothing coming: %v, want os.ErrDeadlineExceeded", err)
		}
		// Close wakes a blocked reader.
		done := make(chan error, 1)
		c.SetReadDeadline(time.Time{})
		go func() { _, err := c.Read(buf); done <- err }()
		synctest.Wait()
		c.Close()
		if err := <-done; !errors.Is(err, net.ErrClosed) {
			t.Errorf("blocked Read after Close: %v, want net.ErrClosed", err)
		}
	})
}
