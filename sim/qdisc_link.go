package sim

import (
	"fmt"
	"strings"
	"time"
)

// qdState is a direction's queue discipline and its transmitter: with a
// Qdisc, packets really wait in the Queue and the transmitter takes the next
// one when it is free (an event at the end of each transmission), so that
// the discipline decides at dequeue time.
type qdState struct {
	q      Queue
	name   string
	active bool // a transmission is in progress
	drop   DropFunc
	txDone txDoneHandler
	free   []*QPacket // pooled queue entries
}

// txDoneHandler is the event that ends a transmission.
type txDoneHandler struct{ d *direction }

func (h *txDoneHandler) HandleEvent(any) {
	if d := h.d; d.qd.active && d.busy <= d.w.now {
		d.qdStart()
	}
}

func (d *direction) initQdisc(w *World, l *Link, dirName string) error {
	if d.cfg.Qdisc == nil {
		return nil
	}
	env := QueueEnv{
		Rate: d.cfg.Rate,
		MTU:  d.mtu,
		Rand: w.Rand("link", l.name, dirName, "qdisc"),
		Seed: w.SeedFor("link", l.name, dirName, "qdisc", "hash"),
	}
	q := d.cfg.Qdisc.NewQueue(env)
	if q == nil {
		return fmt.Errorf("%w: link %q %s: Qdisc %s: NewQueue returned nil", ErrInvalid, l.name, dirName, d.cfg.Qdisc.QdiscName())
	}
	d.qd = &qdState{q: q, name: d.cfg.Qdisc.QdiscName()}
	d.qd.drop = d.qdDrop
	d.qd.txDone.d = d
	return nil
}

func (d *DirConfig) validateQdisc(where string) error {
	if d.Qdisc == nil {
		return nil
	}
	if d.QueuePackets != 0 || d.QueueBytes != 0 {
		return fmt.Errorf("%w: %s: QueuePackets = %d, QueueBytes = %d with Qdisc %s (set the discipline's own limit)",
			ErrInvalid, where, d.QueuePackets, d.QueueBytes, d.Qdisc.QdiscName())
	}
	if err := d.Qdisc.Validate(); err != nil {
		msg := strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": ")
		return fmt.Errorf("%w: %s: Qdisc: %s", ErrInvalid, where, msg)
	}
	return nil
}

// qdEnqueue gives f to the discipline and starts the transmitter if idle.
func (d *direction) qdEnqueue(f *frame) {
	now := d.w.now
	var p *QPacket
	if n := len(d.qd.free); n > 0 {
		p = d.qd.free[n-1]
		d.qd.free = d.qd.free[:n-1]
	} else {
		p = new(QPacket)
	}
	p.Data, p.Enqueued, p.f, p.marked, p.next = f.buf, now, f, false, nil
	d.stats.Enqueued++
	if d.qd.active && d.busy <= now {
		// The transmission ends now and its event has not run yet: take
		// the next packet first, as drop-tail counts a packet whose
		// transmission starts now as no longer waiting. The pending event
		// then finds the transmitter busy and does nothing.
		d.qdStart()
	}
	d.qd.q.Enqueue(p, now, d.qd.drop)
	if n := d.qd.q.Len(); n > d.stats.MaxQueue {
		d.stats.MaxQueue = n
	}
	if n := d.qd.q.Bytes(); n > d.stats.MaxQueueLen {
		d.stats.MaxQueueLen = n
	}
	if !d.qd.active {
		d.qdStart()
	}
}

// qdDrop is the DropFunc of the direction's queue.
func (d *direction) qdDrop(p *QPacket, reason string, aqm bool) {
	f := p.f
	p.f, p.Data = nil, nil
	d.qd.free = append(d.qd.free, p)
	d.stats.DropQueue++
	if aqm {
		d.stats.DropAQM++
	} else {
		d.stats.DropOverflow++
	}
	if d.w.log != nil {
		d.logEvent(d.from, Out, Dropped, reason, f, nil, 0, 0)
	}
	d.w.putFrame(f)
}

// qdStart takes the next packet from the queue and transmits it; it runs
// when a packet arrives at an idle transmitter and when a transmission ends.
func (d *direction) qdStart() {
	for {
		now := d.w.now
		p := d.qd.q.Dequeue(now, d.qd.drop)
		if p == nil {
			d.qd.active = false
			return
		}
		f := p.f
		p.f, p.Data = nil, nil
		d.qd.free = append(d.qd.free, p)
		wait := now - p.Enqueued
		marked := p.marked
		d.soj.add(wait)
		if d.w.log != nil {
			if marked {
				d.logEvent(d.from, Out, Marked, d.qd.name, f, nil, 0, 0)
			}
			if wait > 0 {
				d.logEvent(d.from, Out, Queued, "", f, nil, wait, 0)
			}
		}
		if marked {
			d.stats.ECNMarked++
		}
		done := now
		if d.cfg.Rate > 0 {
			done += TxTime(len(f.buf), d.cfg.Rate)
		}
		d.stats.TxBytes += uint64(len(f.buf))
		d.stats.Busy += done - now
		d.busy = done
		d.deliverAt(f, d.arrival(f, done))
		if done > now {
			d.qd.active = true
			d.w.Schedule(done, PrioDefault, &d.qd.txDone, nil)
			return
		}
		// An infinitely fast transmitter: send everything queued now.
	}
}

// arrival is the far end's arrival time of f, whose transmission ends at
// done: as direction.enqueue computes it.
func (d *direction) arrival(f *frame, done time.Duration) time.Duration {
	arr := done
	if !f.immediate {
		arr += d.cfg.Delay
		if d.jrng != nil {
			arr += d.jitter()
			if arr < done {
				arr = done
			}
			if !d.cfg.JitterReorders && arr < d.lastArr {
				arr = d.lastArr
			}
		}
		d.lastArr = arr
	}
	return arr + f.extra
}

// snapshot returns the direction's counters with the sojourn figures.
func (d *direction) snapshot() DirStats {
	s := d.stats
	if rest := d.busy - d.w.now; rest > 0 {
		s.Busy -= rest // the part of the transmissions still to come
	}
	if d.soj.n > 0 {
		s.SojournMin = d.soj.min
		s.SojournMean = time.Duration(d.soj.sum / d.soj.n)
		s.SojournP99 = d.soj.quantile(0.99)
		s.SojournMax = d.soj.max
	}
	if d.qd != nil {
		s.QueueLen, s.QueueBytes = d.qd.q.Len(), d.qd.q.Bytes()
	} else {
		now := d.w.now
		for i := 0; i < d.qLen; i++ {
			if e := d.q[(d.qHead+i)%len(d.q)]; e.start > now {
				s.QueueLen++
				s.QueueBytes += e.size
			}
		}
	}
	return s
}
