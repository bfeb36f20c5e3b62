package report

import (
	"bufio"
	"encoding/json"
	"io"
	"strconv"
	"time"
)

// SeriesCSVHeader is the header line of WriteCSV, its columns in order
// (docs/series.md describes each).
var SeriesCSVHeader = []string{"time_s", "interval_s", "kind", "flow", "node", "local", "remote", "state",
	"cwnd_bytes", "ssthresh_bytes", "inflight_bytes", "srtt_ms", "rto_ms", "retrans", "delivered_bytes", "delivery_rate_bps",
	"link", "from", "to", "queue_pkts", "queue_bytes", "sent_pkts", "sent_bytes", "delivered_pkts", "drops", "drops_queue", "ecn_marks"}

// WriteCSV writes the series as one CSV table: a row per sample, "conn"
// rows (a connection) first, in the order the connections appeared, then
// "link" rows (a link direction); the columns that do not apply to a row's
// kind are empty, as is ssthresh while it is still infinite.
func (s *Series) WriteCSV(out io.Writer) error {
	w := bufio.NewWriter(out)
	var b []byte
	for i, h := range SeriesCSVHeader {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, h...)
	}
	b = append(b, '\n')
	w.Write(b)
	sec := func(b []byte, d time.Duration) []byte { return strconv.AppendFloat(b, d.Seconds(), 'f', -1, 64) }
	msec := func(b []byte, d time.Duration) []byte {
		return strconv.AppendFloat(b, float64(d)/float64(time.Millisecond), 'f', -1, 64)
	}
	u := func(b []byte, v uint64) []byte { return strconv.AppendUint(b, v, 10) }
	for _, c := range s.conns {
		local, remote, node := c.Local.String(), c.Remote.String(), c.Node()
		for i := range c.Points {
			p := &c.Points[i]
			b = sec(b[:0], p.At)
			b = append(b, ',')
			b = sec(b, p.Interval)
			b = append(b, ",conn,"...)
			b = strconv.AppendInt(b, int64(c.FlowIndex()), 10)
			b = append(b, ',')
			b = append(b, node...)
			b = append(b, ',')
			b = append(b, local...)
			b = append(b, ',')
			b = append(b, remote...)
			b = append(b, ',')
			b = append(b, p.State.String()...)
			b = append(b, ',')
			b = u(b, uint64(p.Cwnd))
			b = append(b, ',')
			if p.SsthreshSet() {
				b = u(b, uint64(p.Ssthresh))
			}
			b = append(b, ',')
			b = u(b, uint64(p.InFlight))
			b = append(b, ',')
			b = msec(b, p.SRTT)
			b = append(b, ',')
			b = msec(b, p.RTO)
			b = append(b, ',')
			b = u(b, p.Retrans)
			b = append(b, ',')
			b = u(b, p.Delivered)
			b = append(b, ',')
			b = strconv.AppendFloat(b, p.Rate(), 'f', 0, 64)
			b = append(b, ",,,,,,,,,,,\n"...)
			w.Write(b)
		}
	}
	for _, l := range s.links {
		for i := range l.Points {
			p := &l.Points[i]
			b = sec(b[:0], p.At)
			b = append(b, ',')
			b = sec(b, p.Interval)
			b = append(b, ",link,,,,,,,,,,,,,,"...)
			b = append(b, l.Link...)
			b = append(b, ',')
			b = append(b, l.From...)
			b = append(b, ',')
			b = append(b, l.To...)
			for _, v := range []uint64{uint64(p.QueuePackets), uint64(p.QueueBytes), p.Sent, p.SentBytes, p.Delivered, p.Drops, p.DropsQueue, p.Marks} {
				b = append(b, ',')
				b = u(b, v)
			}
			b = append(b, '\n')
			w.Write(b)
		}
	}
	return w.Flush()
}

// seriesDoc is the JSON form of a Series: one object per connection and
// per link direction, each sample field an array indexed like t_s.
type seriesDoc struct {
	Sample float64       `json:"sample_s"`
	Conns  []connDoc     `json:"conns"`
	Links  []linkSeriesD `json:"links"`
}

type connDoc struct {
	Flow     int       `json:"flow"`
	Node     string    `json:"node"`
	Local    string    `json:"local"`
	Remote   string    `json:"remote"`
	T        []float64 `json:"t_s"`
	Interval []float64 `json:"interval_s"`
	State    []string  `json:"state"`
	Cwnd     []uint32  `json:"cwnd_bytes"`
	Ssthresh []*uint32 `json:"ssthresh_bytes"`
	InFlight []uint32  `json:"inflight_bytes"`
	SRTT     []float64 `json:"srtt_ms"`
	RTO      []float64 `json:"rto_ms"`
	Retrans  []uint64  `json:"retrans"`
	Deliv    []uint64  `json:"delivered_bytes"`
	Rate     []float64 `json:"delivery_rate_bps"`
}

type linkSeriesD struct {
	Link       string    `json:"link"`
	From       string    `json:"from"`
	To         string    `json:"to"`
	T          []float64 `json:"t_s"`
	Interval   []float64 `json:"interval_s"`
	QueuePkts  []int     `json:"queue_pkts"`
	QueueBytes []int     `json:"queue_bytes"`
	Sent       []uint64  `json:"sent_pkts"`
	SentBytes  []uint64  `json:"sent_bytes"`
	Delivered  []uint64  `json:"delivered_pkts"`
	Drops      []uint64  `json:"drops"`
	DropsQueue []uint64  `json:"drops_queue"`
	Marks      []uint64  `json:"ecn_marks"`
}

// WriteJSON writes the series as one JSON document (docs/series.md).
func (s *Series) WriteJSON(out io.Writer) error {
	doc := seriesDoc{Sample: s.opt.Every.Seconds(), Conns: []connDoc{}, Links: []linkSeriesD{}}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	for _, c := range s.conns {
		n := len(c.Points)
		d := connDoc{Flow: c.FlowIndex(), Node: c.Node(), Local: c.Local.String(), Remote: c.Remote.String(),
			T: make([]float64, n), Interval: make([]float64, n), State: make([]string, n), Cwnd: make([]uint32, n), Ssthresh: make([]*uint32, n),
			InFlight: make([]uint32, n), SRTT: make([]float64, n), RTO: make([]float64, n), Retrans: make([]uint64, n), Deliv: make([]uint64, n), Rate: make([]float64, n)}
		for i := range c.Points {
			p := &c.Points[i]
			d.T[i], d.Interval[i], d.State[i] = p.At.Seconds(), p.Interval.Seconds(), p.State.String()
			d.Cwnd[i], d.InFlight[i], d.SRTT[i], d.RTO[i] = p.Cwnd, p.InFlight, ms(p.SRTT), ms(p.RTO)
			if p.SsthreshSet() {
				v := p.Ssthresh
				d.Ssthresh[i] = &v
			}
			d.Retrans[i], d.Deliv[i], d.Rate[i] = p.Retrans, p.Delivered, p.Rate()
		}
		doc.Conns = append(doc.Conns, d)
	}
	for _, l := range s.links {
		n := len(l.Points)
		d := linkSeriesD{Link: l.Link, From: l.From, To: l.To, T: make([]float64, n), Interval: make([]float64, n), QueuePkts: make([]int, n),
			QueueBytes: make([]int, n), Sent: make([]uint64, n), SentBytes: make([]uint64, n), Delivered: make([]uint64, n), Drops: make([]uint64, n),
			DropsQueue: make([]uint64, n), Marks: make([]uint64, n)}
		for i := range l.Points {
			p := &l.Points[i]
			d.T[i], d.Interval[i], d.QueuePkts[i], d.QueueBytes[i] = p.At.Seconds(), p.Interval.Seconds(), p.QueuePackets, p.QueueBytes
			d.Sent[i], d.SentBytes[i], d.Delivered[i], d.Drops[i], d.DropsQueue[i], d.Marks[i] = p.Sent, p.SentBytes, p.Delivered, p.Drops, p.DropsQueue, p.Marks
		}
		doc.Links = append(doc.Links, d)
	}
	// Compact: indented, every number of the arrays would be a line.
	return json.NewEncoder(out).Encode(doc)
}
