package sim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

func payload(n int) []byte {
	b := make([]byte, n)
	x := uint32(1)
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}

// A task dials by name, sends 1 MB, half-closes; the server echoes a hash.
func TestTaskDialTransfer(t *testing.T) {
	p := newNetPair(t, Config{Seed: 1}, DirConfig{Delay: 10 * time.Millisecond, Rate: 10e6, QueuePackets: 100,
		Faults: []Fault{Loss{P: 0.01}}})
	cn, sn := NewTaskNet(p.w, p.client), NewTaskNet(p.w, p.server)
	data := payload(1 << 20)
	want := sha256.Sum256(data)
	var got []byte
	var srvErr, cliErr error
	p.w.Spawn("server", func(tk *Task) {
		ln, err := sn.Listen("tcp", ":80")
		if err != nil {
			srvErr = err
			return
		}
		defer ln.Close()
		c, err := ln.Accept()
		if err != nil {
			srvErr = err
			return
		}
		h := sha256.New()
		if _, err := io.Copy(h, c); err != nil {
			srvErr = err
		}
		c.Write(h.Sum(nil))
		srvErr = errors.Join(srvErr, c.Close())
	})
	p.w.Spawn("client", func(tk *Task) {
		c, err := cn.DialContext(context.Background(), "tcp", "server.example:80")
		if err != nil {
			cliErr = err
			return
		}
		if la, ok := c.LocalAddr().(*net.TCPAddr); !ok || la.IP.String() != "10.0.0.1" {
			cliErr = errors.New("LocalAddr is not *net.TCPAddr 10.0.0.1")
		}
		if ra := c.RemoteAddr().String(); ra != "10.0.0.2:80" {
			cliErr = errors.New("RemoteAddr " + ra)
		}
		if _, err := c.Write(data); err != nil {
			cliErr = err
			return
		}
		c.(*Conn).CloseWrite()
		got, err = io.ReadAll(c)
		cliErr = errors.Join(cliErr, err, c.Close())
	})
	if err := p.w.Run(); err != nil {
		t.Fatal(err)
	}
	if srvErr != nil || cliErr != nil {
		t.Fatalf("server: %v; client: %v", srvErr, cliErr)
	}
	if !bytes.Equal(got, want[:]) {
		t.Fatalf("server's hash %x, want %x", got, want)
	}
	if p.w.Log() != nil {
		t.Log(p.w.Log().Len())
	}
}

func TestTaskDialRefused(t *testing.T) {
	p := newNetPair(t, Config{}, DirConfig{Delay: time.Millisecond})
	var err error
	p.w.Spawn("client", func(*Task) {
		_, err = NewTaskNet(p.w, p.client).Dial("tcp", "server.example:81")
	})
	if rerr := p.w.Run(); rerr != nil {
		t.Fatal(rerr)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial error %v (%T), want *net.OpError with ECONNREFUSED", err, err)
	}
	if oe.Op != "dial" {
		t.Errorf("Op = %q, want dial", oe.Op)
	}
}

func TestTaskDialTimeout(t *testing.T) {
	p := newNetPair(t, Config{}, DirConfig{Delay: time.Millisecond, Faults: []Fault{Loss{P: 1}}})
	var err error
	var took time.Duration
	p.w.Spawn("client", func(tk *Task) {
		_, err = NewTaskNet(p.w, p.client).Dial("tcp", "server.example:80")
		took = tk.Now()
	})
	if rerr := p.w.Run(); rerr != nil {
		t.Fatal(rerr)
	}
	var ne net.Error
	if !errors.Is(err, syscall.ETIMEDOUT) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("dial error %v, want ETIMEDOUT and a net.Error timeout", err)
	}
	// Linux-like SYN retries: 1+2+4+8+16+32 s, then the last timeout
	// capped at RTOMax (60 s): 123 s.
	if took < 60*time.Second || took > 200*time.Second {
		t.Errorf("dial gave up after %v of virtual time", took)
	}
}

func TestTaskReset(t *testing.T) {
	p := newNetPair(t, Config{}, DirConfig{Delay: time.Millisecond})
	var rerr, werr error
	p.w.Spawn("server", func(tk *Task) {
		ln, _ := NewTaskNet(p.w, p.server).Listen("tcp", ":80")
		c, err := ln.Accept()
		if err != nil {
			t.Error(err)
			return
		}
		c.(*Conn).Abort()
		ln.Close()
	})
	p.w.Spawn("client", func(tk *Task) {
		c, err := NewTaskNet(p.w, p.client).Dial("tcp", "10.0.0.2:80")
		if err != nil {
			t.Error(err)
			return
		}
		_, rerr = c.Read(make([]byte, 10))
		tk.Sleep(time.Second)
		_, werr = c.Write([]byte("x"))
		c.Close()
	})
	if err := p.w.Run(); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(rerr, syscall.ECONNRESET) {
		t.Errorf("read after peer abort: %v, want ECONNRESET", rerr)
	}
	if !errors.Is(werr, syscall.ECONNRESET) {
		t.Errorf("write after peer abort: %v, want ECONNRESET", werr)
	}
}

func TestTaskDeadline(t *testing.T) {
	p := newNetPair(t, Config{}, DirConfig{Delay: time.Millisecond})
	sn, cn := NewTaskNet(p.w, p.server), NewTaskNet(p.w, p.client)
	var err error
	var at time.Duration
	p.w.Spawn("server", func(tk *Task) {
		ln, _ := sn.Listen("tcp", ":80")
		c, _ := ln.Accept()
		tk.Sleep(10 * time.Second)
		c.Close()
		ln.Close()
	})
	p.w.Spawn("client", func(tk *Task) {
		c, derr := cn.Dial("tcp", "server.example:80")
		if derr != nil {
			t.Error(derr)
			return
		}
		c.SetReadDeadline(cn.Now().Add(500 * time.Millisecond))
		start := tk.Now()
		_, err = c.Read(make([]byte, 1))
		at = tk.Now() - start
		c.Close()
	})
	if rerr := p.w.Run(); rerr != nil {
		t.Fatal(rerr)
	}
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read error %v, want a deadline timeout", err)
	}
	if at != 500*time.Millisecond {
		t.Errorf("deadline fired after %v, want exactly 500ms of virtual time", at)
	}
}

func TestTaskCallOutsideTask(t *testing.T) {
	p := newNetPair(t, Config{}, DirConfig{})
	_, err := NewTaskNet(p.w, p.client).Dial("tcp", "server.example:80")
	if !errors.Is(err, ErrNotInTask) {
		t.Fatalf("Dial outside a task: %v, want ErrNotInTask", err)
	}
	_, err = NewTaskNet(p.w, p.client).Dial("tcp", "nowhere.example:80")
	var de *net.DNSError
	if !errors.As(err, &de) || !de.IsNotFound {
		t.Fatalf("Dial unknown host: %v, want *net.DNSError not found", err)
	}
	_, err = NewTaskNet(p.w, p.client).Dial("udp", "server.example:80")
	if !errors.Is(err, ErrNotInTask) {
		t.Fatalf("Dial udp outside a task: %v, want ErrNotInTask", err)
	}
	_, err = NewTaskNet(p.w, p.client).Dial("sctp", "server.example:80")
	if !errors.Is(err, ErrNetwork) {
		t.Fatalf("Dial sctp: %v, want ErrNetwork", err)
	}
}

// A context deadline on the simulator's clock bounds a task's dial; a
// cancelled context ends it when the task next wakes.
func TestTaskDialContext(t *testing.T) {
	p := newNetPair(t, Config{}, DirConfig{Delay: time.Millisecond, Faults: []Fault{Loss{P: 1}}})
	cn := NewTaskNet(p.w, p.client)
	var errDeadline, errCancel error
	var took time.Duration
	p.w.Spawn("deadline", func(tk *Task) {
		ctx, cancel := context.WithDeadline(context.Background(), cn.Now().Add(2500*time.Millisecond))
		defer cancel()
		start := tk.Now()
		_, errDeadline = cn.DialContext(ctx, "tcp", "server.example:80")
		took = tk.Now() - start
	})
	p.w.Spawn("cancel", func(tk *Task) {
		ctx, cancel := context.WithCancel(context.Background())
		// Cancelled from an event at 1.5 s; the SYN retry at 1 s or 3 s
		// wakes the task, which then sees it.
		p.w.At(1500*time.Millisecond, cancel)
		_, errCancel = cn.DialContext(ctx, "tcp", "server.example:80")
	})
	if err := p.w.Run(); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(errDeadline, context.DeadlineExceeded) || took != 2500*time.Millisecond {
		t.Errorf("dial with a 2.5 s deadline: %v after %v", errDeadline, took)
	}
	if !errors.Is(errCancel, context.Canceled) {
		t.Errorf("dial with a cancelled context: %v, want context.Canceled", errCancel)
	}
}

// A writer whose peer never reads blocks once the windows and buffers are
// full, and its write deadline ends the wait with a partial count.
func TestTaskWriteDeadline(t *testing.T) {
	p := newNetPair(t, Config{}, DirConfig{Delay: time.Millisecond, Rate: 100e6})
	sn, cn := NewTaskNet(p.w, p.server), NewTaskNet(p.w, p.client)
	var n int
	var err error
	var at time.Duration
	p.w.Spawn("server", func(tk *Task) {
		ln, _ := sn.Listen("tcp", ":80")
		c, _ := ln.Accept()
		tk.Sleep(5 * time.Second) // never reads
		c.(*Conn).Abort()
		ln.Close()
	})
	p.w.Spawn("client", func(tk *Task) {
		c, derr := cn.Dial("tcp", "server.example:80")
		if derr != nil {
			t.Error(derr)
			return
		}
		c.SetWriteDeadline(cn.Now().Add(time.Second))
		n, err = c.Write(make([]byte, 10<<20))
		at = tk.Now()
		c.Close()
	})
	if rerr := p.w.Run(); rerr != nil {
		t.Fatal(rerr)
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write error %v, want a deadline", err)
	}
	if n == 0 || n >= 10<<20 {
		t.Errorf("wrote %d bytes before the deadline, want a partial write", n)
	}
	if at < time.Second || at > time.Second+10*time.Millisecond {
		t.Errorf("deadline fired at %v", at)
	}
}
