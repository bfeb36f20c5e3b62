package sim

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/tcpsim/tcpsim/stack"
)

// Errors of the blocking socket layer. Errors returned by Conn, Listener and
// Dial are *net.OpError values wrapping one of these, an *os.SyscallError
// with a syscall.Errno, os.ErrDeadlineExceeded or net.ErrClosed, except for
// io.EOF, which Read returns bare, as the net package does.
var (
	// ErrNotInTask is returned when a blocking call of a virtual-driver Net
	// is made outside a task: only tasks may block on the virtual clock.
	ErrNotInTask = errors.New("sim: blocking socket call outside a task (run it in World.Spawn, or use a Loop)")
	// ErrNetwork is returned for networks other than "tcp" and "tcp4".
	ErrNetwork = errors.New("sim: only tcp over IPv4 is simulated")
)

// errLoopClosed is what the calls of a Loop's Net fail with once the
// Loop has stopped: it matches both net.ErrClosed and ErrClosed.
var errLoopClosed error = loopClosedError{}

type loopClosedError struct{}

func (loopClosedError) Error() string {
	return "use of closed network connection (sim: the Loop was closed)"
}

func (loopClosedError) Is(target error) bool { return target == net.ErrClosed || target == ErrClosed }

// opError wraps err in a *net.OpError the way the net package does:
// syscall errnos inside an *os.SyscallError named after the call that
// would have failed on a real socket.
func opError(op string, local, remote net.Addr, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return err
	}
	return &net.OpError{Op: op, Net: "tcp", Source: local, Addr: remote, Err: mapErr(op, err)}
}

// mapErr turns the stack's errors into what a caller of the net package
// expects to match with errors.Is.
func mapErr(op string, err error) error {
	var ce *stack.ConnError
	switch {
	case errors.As(err, &ce):
		call := op
		switch op {
		case "dial":
			call = "connect"
		case "write":
			call = "write"
		default:
			call = "read"
		}
		return os.NewSyscallError(call, ce.Errno)
	case errors.Is(err, ErrClosed): // the Loop (sim.ErrClosed), errLoopClosed
		return errLoopClosed
	case errors.Is(err, stack.ErrClosed), errors.Is(err, net.ErrClosed):
		return net.ErrClosed
	case errors.Is(err, stack.ErrShutdown):
		return os.NewSyscallError("write", syscall.EPIPE)
	case errors.Is(err, stack.ErrNoRoute):
		return os.NewSyscallError("connect", syscall.EHOSTUNREACH)
	case errors.Is(err, stack.ErrAddrInUse):
		return os.NewSyscallError("bind", syscall.EADDRINUSE)
	case errors.Is(err, stack.ErrNoPorts):
		return os.NewSyscallError("connect", syscall.EADDRNOTAVAIL)
	}
	return err
}
