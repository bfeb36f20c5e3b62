package simnet_test

import (
	"net/http"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/tcpsim/tcpsim/simnet"
)

// A handler waits for a database that never answers, so the client's GET
// hangs: the report names the handler's Read on the server → db
// connection, and the GET fails instead of hanging.
func TestStallReportHTTP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{TB: t}
		n := simnet.New(rec, simnet.Options{})
		ln, _ := n.Host("db").Listen(":5432")
		go ln.Accept()
		n.Host("server").Serve(":80", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := n.Host("server").Dial("db:5432")
			if err == nil {
				c.Read(make([]byte, 1))
			}
		}))
		if _, err := n.Host("client").HTTPClient().Get("http://server/"); err == nil {
			t.Errorf("the GET succeeded")
		}
		msg := rec.all()
		t.Log(msg)
		for _, want := range []string{
			"server: Read on server 10.0.0.2:",
			"→ db 10.0.0.1:5432 [ESTABLISHED",
			"waits for data or a FIN from db",
			"client: Read (HTTP client) on client 10.0.0.3:",
		} {
			if !strings.Contains(msg, want) {
				t.Errorf("the report lacks %q", want)
			}
		}
	})
}
