package sim

import (
	"fmt"
	"io"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// SnapLen is the snapshot length written in pcap file headers: packets are
// captured whole.
const SnapLen = 65535

// Capture writes the packets seen at one link end to a pcap file, like
// tcpdump on an interface: packets the attached node sends (before any
// fault acts on them) and packets delivered to it. The file uses the raw
// IPv4 link type and nanosecond timestamps equal to the world's epoch plus
// virtual time, so the same seed gives a byte-identical file.
type Capture struct {
	w     *pcapgo.Writer
	epoch time.Time
	end   *LinkEnd
	n     int
	err   error
}

// Capture starts a pcap capture at end, writing to out. It writes the file
// header at once. Stop it with Capture.Close; out is not closed.
func (w *World) Capture(end *LinkEnd, out io.Writer) (*Capture, error) {
	if err := w.usable(); err != nil {
		return nil, err
	}
	if end == nil || end.link == nil || end.link.w != w {
		return nil, fmt.Errorf("%w: capture end is not a link end of this world", ErrInvalid)
	}
	pw := pcapgo.NewWriterNanos(out)
	if err := pw.WriteFileHeader(SnapLen, layers.LinkTypeRaw); err != nil {
		return nil, fmt.Errorf("sim: capture on %q#%d: %w", end.link.name, end.idx, err)
	}
	c := &Capture{w: pw, epoch: w.epoch, end: end}
	end.taps = append(end.taps, c)
	return c, nil
}

func (c *Capture) write(t time.Duration, pkt []byte) {
	if c.err != nil {
		return
	}
	ci := gopacket.CaptureInfo{Timestamp: c.epoch.Add(t), CaptureLength: len(pkt), Length: len(pkt)}
	if err := c.w.WritePacket(ci, pkt); err != nil {
		c.err = err
		return
	}
	c.n++
}

// Packets returns how many packets were written.
func (c *Capture) Packets() int { return c.n }

// Err returns the first write error; after an error the capture writes
// nothing more.
func (c *Capture) Err() error { return c.err }

// Close stops the capture and returns Err. It must be called in scheduler
// context (or while no driver runs).
func (c *Capture) Close() error {
	taps := c.end.taps
	for i, t := range taps {
		if t == c {
			c.end.taps = append(taps[:i:i], taps[i+1:]...)
			break
		}
	}
	return c.err
}
