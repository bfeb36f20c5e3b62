package sim

import (
	"fmt"
	"io"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// NgCapture writes the packets of many link ends into one pcapng file, one
// pcapng interface per link end, named "NODE:LINK" (the node attached at
// that end and the link's name): at each end the packets its node sends
// (before any fault acts on them) and the packets delivered to it, as
// Capture writes for one end. With NgOptions.Drops, each packet a link
// direction drops is also written, on an interface of its own named
// "LINK:FROM→TO:dropped (REASON)", added when the first such drop happens;
// so a drop, which Capture shows only as a packet that never arrives, can
// be filtered in Wireshark (frame.interface_name contains "dropped").
//
// Unlike Capture, an NgCapture is fed the world's events: call Event from
// Config.OnEvent, with StreamOnly or LogData set so that events carry the
// packet bytes. Timestamps are the world's epoch plus virtual time, and
// the file names no machine or operating system, so the same seed writes
// the same bytes anywhere. Stop it with Close, which flushes; out is not
// closed.
type NgCapture struct {
	ng     *pcapgo.NgWriter
	w      *World
	ends   map[ngEnd]int // link end → interface id
	drops  map[ngDrop]int
	opt    NgOptions
	nIface int
	n      int
	err    error
	closed bool
}

// NgOptions choose what an NgCapture writes.
type NgOptions struct {
	// Ends are the link ends captured; nil means every end of every link
	// the world has when the capture starts.
	Ends []*LinkEnd
	// Drops adds the packets dropped in the captured ends' outgoing
	// directions, on interfaces of their own.
	Drops bool
}

type ngEnd struct {
	link string
	end  int
}

type ngDrop struct {
	link   string
	from   int
	reason string
}

// CaptureAll starts a pcapng capture of the link ends o names (all by
// default), writing the section header and one interface description per
// end at once.
func (w *World) CaptureAll(out io.Writer, o NgOptions) (*NgCapture, error) {
	if err := w.usable(); err != nil {
		return nil, err
	}
	ends := o.Ends
	if ends == nil {
		for _, l := range w.links {
			ends = append(ends, l.End(0), l.End(1))
		}
	}
	if len(ends) == 0 {
		return nil, fmt.Errorf("%w: pcapng capture of no link end (the world has no links)", ErrInvalid)
	}
	c := &NgCapture{w: w, ends: map[ngEnd]int{}, drops: map[ngDrop]int{}, opt: o}
	for _, e := range ends {
		if e == nil || e.link == nil || e.link.w != w {
			return nil, fmt.Errorf("%w: capture end is not a link end of this world", ErrInvalid)
		}
		k := ngEnd{e.link.name, e.idx}
		if _, dup := c.ends[k]; dup {
			continue
		}
		intf := pcapgo.NgInterface{Name: e.nodeName + ":" + e.link.name, LinkType: layers.LinkTypeRaw, SnapLength: SnapLen,
			Description: fmt.Sprintf("end %c of link %s, at %s: what %s sends into the link and what the link delivers to it", 'A'+e.idx, e.link.name, e.nodeName, e.nodeName)}
		if c.ng == nil {
			ng, err := pcapgo.NewNgWriterInterface(out, intf, pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "tcpsim"}})
			if err != nil {
				return nil, fmt.Errorf("sim: pcapng capture: %w", err)
			}
			c.ng = ng
		} else if _, err := c.ng.AddInterface(intf); err != nil {
			return nil, fmt.Errorf("sim: pcapng capture: %w", err)
		}
		c.ends[k] = c.nIface
		c.nIface++
	}
	return c, nil
}

// Event writes the packet of e when it is one the capture shows: sent
// into or delivered at a captured end, or (with Drops) dropped in the
// direction leaving one. A nil NgCapture ignores the event (so that a
// hook can be set before the capture starts).
func (c *NgCapture) Event(e *Event) {
	if c == nil || c.err != nil || c.closed || e.Data == nil {
		return
	}
	switch e.Verdict {
	case Sent, Delivered:
		id, ok := c.ends[ngEnd{e.Link, e.End}]
		if ok {
			c.write(id, e)
		}
	case Dropped:
		if !c.opt.Drops {
			return
		}
		from := e.End // a drop where the packet enters the link (Out), or
		if e.Dir == In {
			from ^= 1 // where it arrives: the direction from the other end
		}
		if _, ok := c.ends[ngEnd{e.Link, from}]; !ok {
			return
		}
		k := ngDrop{e.Link, from, e.Reason}
		id, ok := c.drops[k]
		if !ok {
			l := c.w.linkName[e.Link]
			if l == nil {
				return
			}
			reason := e.Reason
			if reason == "" {
				reason = "dropped"
			}
			a, b := l.End(from).nodeName, l.End(from^1).nodeName
			intf := pcapgo.NgInterface{Name: fmt.Sprintf("%s:%s→%s:dropped (%s)", e.Link, a, b, reason), LinkType: layers.LinkTypeRaw, SnapLength: SnapLen,
				Description: fmt.Sprintf("packets link %s dropped on their way from %s to %s, reason %s", e.Link, a, b, reason)}
			if _, err := c.ng.AddInterface(intf); err != nil {
				c.err = err
				return
			}
			id = c.nIface
			c.nIface++
			c.drops[k] = id
		}
		c.write(id, e)
	}
}

func (c *NgCapture) write(id int, e *Event) {
	ci := gopacket.CaptureInfo{Timestamp: c.w.epoch.Add(e.Time), CaptureLength: len(e.Data), Length: len(e.Data), InterfaceIndex: id}
	if err := c.ng.WritePacket(ci, e.Data); err != nil {
		c.err = err
		return
	}
	c.n++
}

// Packets returns how many packets were written.
func (c *NgCapture) Packets() int { return c.n }

// Interfaces returns how many pcapng interfaces the file describes so far.
func (c *NgCapture) Interfaces() int { return c.nIface }

// Err returns the first write error; after an error the capture writes
// nothing more.
func (c *NgCapture) Err() error { return c.err }

// Close stops the capture, flushes what is buffered and returns the first
// error.
func (c *NgCapture) Close() error {
	if c.closed {
		return c.err
	}
	c.closed = true
	if err := c.ng.Flush(); err != nil && c.err == nil {
		c.err = err
	}
	return c.err
}
