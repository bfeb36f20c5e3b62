package simnet_test

import (
	"net"
	"testing"

	"go.uber.org/goleak"
	"golang.org/x/net/nettest"

	"github.com/tcpsim/tcpsim/simnet"
)

// nettest.TestConn, the net.Conn conformance suite, against the kit's
// pairs under both drivers, on real time (its subtests start goroutines
// and sleep, so it cannot run in a synctest bubble).
func testNettest(t *testing.T, d simnet.Driver) {
	defer goleak.VerifyNone(t)
	nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
		n := simnet.New(t, simnet.Options{Driver: d})
		c1, c2, err = n.Pipe("client", "server")
		if err != nil {
			n.Close()
			return nil, nil, nil, err
		}
		return c1, c2, func() { n.Close() }, nil
	})
}

func TestNettestGoroutines(t *testing.T) { testNettest(t, simnet.Goroutines) }
func TestNettestTasks(t *testing.T)      { testNettest(t, simnet.Tasks) }
