package report_test

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/tcpsim/tcpsim/scenario"
)

// A scenario with a sample period returns its time series: here the queue
// of a 2 Mbit/s link filling behind a bulk flow, then the flow's own
// samples as CSV rows.
func ExampleSeries() {
	s, err := scenario.Parse("pair.yaml", []byte(`
sample: 50ms
hosts: [{name: a}, {name: b, listen: [{port: 9}]}]
links: [{name: l, a: a, b: b, rate: 2mbit, delay: 10ms, queue: 30}]
flows: [{from: a, to: b, port: 9, size: 100KB}]
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := scenario.Run(s, scenario.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	ab := res.Series.Links()[0]
	for _, p := range ab.Points[:5] {
		fmt.Printf("%v %s→%s: %d packets queued, %d sent, %d dropped\n", p.At, ab.From, ab.To, p.QueuePackets, p.Sent, p.Drops)
	}
	c := res.Series.Conns()[0]
	fmt.Println(c.Node(), "flow", c.FlowIndex(), "points", len(c.Points) > 5)
	var csv bytes.Buffer
	_ = res.Series.WriteCSV(&csv) // or WriteJSON
	fmt.Println(strings.SplitN(csv.String(), "\n", 3)[1])
	// Output:
	// 50ms a→b: 6 packets queued, 14 sent, 0 dropped
	// 100ms a→b: 10 packets queued, 12 sent, 0 dropped
	// 150ms a→b: 14 packets queued, 12 sent, 0 dropped
	// 200ms a→b: 17 packets queued, 12 sent, 0 dropped
	// 250ms a→b: 21 packets queued, 12 sent, 0 dropped
	// a flow 1 points true
	// 0.05,0.05,conn,1,a,10.0.0.1:56871,10.0.0.2:9,FIN_WAIT_1,15928,,15928,21.222,200,0,1448,231680,,,,,,,,,,,
}
