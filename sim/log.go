package sim

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/tcpsim/tcpsim/segment"
)

// Verdict says what happened to a packet at a place.
type Verdict uint8

// Verdicts recorded in the event log.
const (
	// Sent: a node handed the packet to a link end (before faults).
	Sent Verdict = iota + 1
	// Queued: the packet waits behind others for the transmitter;
	// Event.Wait says how long.
	Queued
	// Delivered: the link handed the packet to the node at its far end.
	Delivered
	// Dropped: the packet was discarded; Event.Reason says why.
	Dropped
	// Duplicated: a fault made a copy; the copy continues as its own packet.
	Duplicated
	// Corrupted: a fault flipped a bit (Event.Bit) of the packet.
	Corrupted
	// Delayed: a fault added extra delay (Event.Wait) or let the packet
	// skip the propagation delay (Event.Reason "reorder").
	Delayed
	// Marked: a queue discipline set the packet's ECN field to CE
	// (Event.Reason is the discipline's name) instead of dropping it.
	Marked
)

var verdictNames = [...]string{"?", "sent", "queued", "delivered", "dropped", "duplicated", "corrupted", "delayed", "marked"}

// String returns the verdict's name as printed in traces ("dropped").
func (v Verdict) String() string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return "verdict(" + strconv.Itoa(int(v)) + ")"
}

// Dir is the direction of a packet relative to the node at a place.
type Dir uint8

// Directions.
const (
	// Out: from the node into the link.
	Out Dir = iota + 1
	// In: from the link into the node.
	In
)

// String returns "out" or "in".
func (d Dir) String() string {
	switch d {
	case Out:
		return "out"
	case In:
		return "in"
	}
	return "?"
}

// Drop reasons the simulator itself uses in Event.Reason. Faults use their
// Name (e.g. "loss", "gemodel", or a rule's name).
const (
	ReasonMTU       = "mtu"        // larger than the link direction's MTU
	ReasonQueue     = "queue"      // drop-tail: the queue limit was reached
	ReasonEmpty     = "empty"      // a zero-length packet
	ReasonTTL       = "ttl"        // router: TTL would reach zero (RFC 1812 §5.3.1)
	ReasonNoRoute   = "no-route"   // router: no matching route
	ReasonMalformed = "malformed"  // router: not a valid IPv4 header
	ReasonDetached  = "unattached" // the far end has no node
	ReasonLocal     = "local"      // router: addressed to the router itself (it runs no services)
)

// Event is one entry of the event log: something that happened to one packet
// at one place. A place is a link end (Link, End) and the node attached there
// (Node).
type Event struct {
	// Index is the event's position in the log, from 0.
	Index int
	// Time is the virtual time of the event.
	Time time.Duration
	// Node is the name of the node at this place ("" if none is attached).
	Node string
	// Link is the link's name; End is 0 for its A end and 1 for its B end.
	Link string
	End  int
	// Dir is Out for a packet leaving Node into the link, In for one
	// arriving at Node.
	Dir Dir
	// Verdict says what happened; Reason details drops, corruption and
	// extra delay (the fault's name or one of the Reason constants).
	Verdict Verdict
	Reason  string
	// PktSeq is the packet's ordinal in its link direction: 1 for the
	// first packet sent from this end. A duplicate made by a fault carries
	// its original's number, so numbering does not depend on faults.
	PktSeq uint64
	// Len is the packet's length in bytes.
	Len int
	// Wait is the queueing delay (Queued) or extra delay (Delayed).
	Wait time.Duration
	// Bit is the flipped bit's index (Corrupted).
	Bit int
	// Data holds the packet bytes when Config.LogData is set; otherwise nil.
	// For Corrupted it holds the bytes after the flip.
	Data []byte
}

// Packet decodes Data as IPv4+TCP. It does not verify checksums, so that
// corrupted packets can still be shown. Without Config.LogData it fails.
func (e *Event) Packet() (segment.Packet, error) {
	var p segment.Packet
	if e.Data == nil {
		return p, fmt.Errorf("sim: event %d has no packet data (enable Config.LogData)", e.Index)
	}
	err := p.Decode(e.Data, false)
	return p, err
}

// String formats the event on one line, e.g.
//
//	0.010000000 client ab#0 out sent 10.0.0.1.49152 > 10.0.0.2.80: Flags [S], ...
func (e *Event) String() string { return string(e.AppendString(nil)) }

// AppendString appends String's form of e to b.
func (e *Event) AppendString(b []byte) []byte {
	b = appendSeconds(b, e.Time)
	b = append(b, ' ')
	if e.Node == "" {
		b = append(b, '-')
	} else {
		b = append(b, e.Node...)
	}
	b = append(b, ' ')
	b = append(b, e.Link...)
	b = append(b, '#')
	b = strconv.AppendInt(b, int64(e.End), 10)
	b = append(b, ' ')
	b = append(b, e.Dir.String()...)
	b = append(b, ' ')
	b = append(b, e.Verdict.String()...)
	if e.Reason != "" {
		b = append(b, '(')
		b = append(b, e.Reason...)
		b = append(b, ')')
	}
	if e.Verdict == Corrupted {
		b = append(b, " bit "...)
		b = strconv.AppendInt(b, int64(e.Bit), 10)
	}
	if e.Wait != 0 {
		b = append(b, " +"...)
		b = append(b, e.Wait.String()...)
	}
	b = append(b, " #"...)
	b = strconv.AppendUint(b, e.PktSeq, 10)
	if e.Data != nil {
		var p segment.Packet
		if err := p.Decode(e.Data, false); err == nil {
			b = append(b, ' ')
			b = p.AppendString(b)
			return b
		}
	}
	b = append(b, " len "...)
	b = strconv.AppendInt(b, int64(e.Len), 10)
	return b
}

func appendSeconds(b []byte, d time.Duration) []byte {
	if d < 0 {
		b = append(b, '-')
		d = -d
	}
	b = strconv.AppendInt(b, int64(d/time.Second), 10)
	b = append(b, '.')
	frac := int64(d % time.Second)
	for div := int64(100000000); div > 0; div /= 10 {
		b = append(b, byte('0'+frac/div%10))
	}
	return b
}

// Log is the in-memory event log of a World: every packet verdict at every
// place, in the order it happened. Tests and the CLI read this one log.
// It is written in scheduler context only; read it while the world is not
// running (or from OnEvent).
type Log struct {
	chunks   [][]Event // fixed-size chunks: growing never copies events
	n        int       // number of events
	flat     []Event   // Events' contiguous copy of the first len(flat) events
	keepData bool
	onEvent  func(*Event)
	arena    []byte // current chunk for packet copies; never reallocated

	streamOnly bool  // Config.StreamOnly: pass events to onEvent, keep none
	streamed   int   // events passed in stream-only mode
	scratch    Event // the event being passed in stream-only mode
}

const (
	arenaChunk = 1 << 20
	eventChunk = 4096
)

// each calls fn for every event in order until fn returns false.
func (l *Log) each(fn func(*Event) bool) {
	for _, c := range l.chunks {
		for i := range c {
			if !fn(&c[i]) {
				return
			}
		}
	}
}

// Len returns the number of events.
func (l *Log) Len() int { return l.n }

// Events returns the events logged so far as one slice. Do not modify it; it
// stays valid after more events are added (later events are not in it). The
// log stores events in chunks, so the first call after new events copies
// them into the contiguous slice; At and Each do not copy.
func (l *Log) Events() []Event {
	for len(l.flat) < l.n {
		i := len(l.flat)
		c := l.chunks[i/eventChunk]
		l.flat = append(l.flat, c[i%eventChunk:]...)
	}
	return l.flat[:l.n:l.n]
}

// Each calls fn for every event in order, without copying, until fn
// returns false.
func (l *Log) Each(fn func(*Event) bool) { l.each(fn) }

// At returns event i.
func (l *Log) At(i int) *Event { return &l.chunks[i/eventChunk][i%eventChunk] }

// Filter returns the events for which keep returns true.
func (l *Log) Filter(keep func(*Event) bool) []Event {
	var out []Event
	l.each(func(e *Event) bool {
		if keep(e) {
			out = append(out, *e)
		}
		return true
	})
	return out
}

// Count returns how many events have verdict v (and, when reason is not
// empty, that reason).
func (l *Log) Count(v Verdict, reason string) int {
	n := 0
	l.each(func(e *Event) bool {
		if e.Verdict == v && (reason == "" || e.Reason == reason) {
			n++
		}
		return true
	})
	return n
}

// WriteTo writes one line per event (Event.String).
func (l *Log) WriteTo(w io.Writer) (int64, error) {
	var total int64
	buf := make([]byte, 0, 256)
	var err error
	l.each(func(e *Event) bool {
		buf = e.AppendString(buf[:0])
		buf = append(buf, '\n')
		var n int
		n, err = w.Write(buf)
		total += int64(n)
		return err == nil
	})
	return total, err
}

// Hash returns a SHA-256 over every field of every event (and the packet
// bytes when kept): two runs with equal hashes logged the same things.
func (l *Log) Hash() [32]byte {
	h := sha256.New()
	var b []byte
	l.each(func(e *Event) bool {
		b = b[:0]
		b = binary.BigEndian.AppendUint64(b, uint64(e.Time))
		b = append(b, e.Node...)
		b = append(b, 0)
		b = append(b, e.Link...)
		b = append(b, 0, byte(e.End), byte(e.Dir), byte(e.Verdict))
		b = append(b, e.Reason...)
		b = append(b, 0)
		b = binary.BigEndian.AppendUint64(b, e.PktSeq)
		b = binary.BigEndian.AppendUint64(b, uint64(e.Len))
		b = binary.BigEndian.AppendUint64(b, uint64(e.Wait))
		b = binary.BigEndian.AppendUint64(b, uint64(e.Bit))
		b = binary.BigEndian.AppendUint32(b, uint32(len(e.Data)))
		b = append(b, e.Data...)
		h.Write(b)
		return true
	})
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// stream passes l.scratch, filled by the caller, to onEvent with data as
// its bytes (stream-only mode). Filling scratch in place saves copying the
// Event on every packet event.
func (l *Log) stream(data []byte) {
	e := &l.scratch
	e.Index, e.Data = l.streamed, data
	l.streamed++
	l.onEvent(e)
	e.Data = nil
}

// add appends an event. data is copied when the log keeps packet bytes (or
// e.Data, already in the log, is kept as is); add returns the stored copy.
func (l *Log) add(e Event, data []byte) []byte {
	if l.streamOnly {
		l.scratch = e
		l.stream(data)
		return nil
	}
	e.Index = l.n
	if l.keepData && data != nil {
		if len(data) > cap(l.arena)-len(l.arena) {
			size := arenaChunk
			if len(data) > size {
				size = len(data)
			}
			l.arena = make([]byte, 0, size)
		}
		start := len(l.arena)
		l.arena = append(l.arena, data...)
		e.Data = l.arena[start:len(l.arena):len(l.arena)]
	}
	if !l.keepData {
		e.Data = nil
	}
	if l.n%eventChunk == 0 {
		l.chunks = append(l.chunks, make([]Event, 0, eventChunk))
	}
	c := &l.chunks[len(l.chunks)-1]
	*c = append(*c, e)
	l.n++
	if l.onEvent != nil {
		l.onEvent(&(*c)[len(*c)-1])
	}
	return e.Data
}
