// Package grpc_test runs an unmodified gRPC client and server
// (google.golang.org/grpc) over simnet: a server-streaming call survives a
// partition and its repair, on fake time. It lives in a module of its own
// so that gRPC stays out of tcpsim's go.mod.
package grpc_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tcpsim/tcpsim/simnet"
)

// rawCodec carries *[]byte messages as they are, so that the example
// needs no generated protobuf code.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *v.(*[]byte), nil }
func (rawCodec) Unmarshal(b []byte, v any) error {
	*v.(*[]byte) = append([]byte(nil), b...)
	return nil
}
func (rawCodec) Name() string { return "raw" }

// count is a server-streaming method: the request is a number n, the
// answers are "1" … "n", one every 100 ms.
func count(_ any, stream grpc.ServerStream) error {
	var req []byte
	if err := stream.RecvMsg(&req); err != nil {
		return err
	}
	n, err := strconv.Atoi(string(req))
	if err != nil {
		return err
	}
	for i := 1; i <= n; i++ {
		msg := []byte(strconv.Itoa(i))
		if err := stream.SendMsg(&msg); err != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

var desc = grpc.ServiceDesc{
	ServiceName: "kit.Counter",
	HandlerType: (*any)(nil),
	Streams:     []grpc.StreamDesc{{StreamName: "Count", Handler: count, ServerStreams: true}},
}

func TestStreamAcrossPartition(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := simnet.New(t, simnet.Options{Link: simnet.Link{Delay: 20 * time.Millisecond, Loss: 0.01}})
		ln, err := n.Host("server").Listen(":50051")
		if err != nil {
			t.Fatal(err)
		}
		srv := grpc.NewServer(grpc.ForceServerCodec(rawCodec{}))
		srv.RegisterService(&desc, nil)
		go srv.Serve(ln)
		defer srv.Stop()

		client := n.Host("client")
		cc, err := grpc.NewClient("passthrough:///server:50051",
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
				return client.DialContext(ctx, "tcp", addr)
			}),
			grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})))
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()

		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		stream, err := cc.NewStream(ctx, &desc.Streams[0], "/kit.Counter/Count")
		if err != nil {
			t.Fatal(err)
		}
		req := []byte("30")
		if err := stream.SendMsg(&req); err != nil {
			t.Fatal(err)
		}
		stream.CloseSend()

		var partitioned, repaired time.Time
		for i := 1; i <= 30; i++ {
			var msg []byte
			if err := stream.RecvMsg(&msg); err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			if string(msg) != strconv.Itoa(i) {
				t.Fatalf("message %d is %q", i, msg)
			}
			if i == 5 {
				// Cut the hosts apart for 3 s in the middle of the stream.
				n.Partition("client", "server")
				partitioned = time.Now()
				time.AfterFunc(3*time.Second, func() { n.Repair("client", "server") })
			}
			if i == 6 {
				repaired = time.Now()
			}
		}
		var extra []byte
		if err := stream.RecvMsg(&extra); err == nil {
			t.Fatalf("a 31st message: %q", extra)
		}
		// Message 6 waited out the partition (and the retransmission
		// timer's back-off after it).
		if gap := repaired.Sub(partitioned); gap < 3*time.Second {
			t.Errorf("message 6 arrived %v after the partition began, want at least 3s", gap)
		}
		t.Logf("30 messages; message 6 arrived %v after the partition began", repaired.Sub(partitioned))
	})
}
