package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/tcpsim/tcpsim/ippacket"
	"github.com/tcpsim/tcpsim/segment"
)

// Fault is the configuration of one fault injector, set in
// DirConfig.Faults. Faults are applied in order, like middleware: each one
// sees the packets the previous ones let through. A Fault value is only
// configuration; every link direction instantiates its own Injector with its
// own random stream, seeded from the world seed, the link's name, the
// direction and the fault's name, so that adding or removing one fault never
// changes the decisions of another.
//
// Implement Fault to add a custom injector.
type Fault interface {
	// FaultName names the fault in drop reasons, the log and seeds
	// ("loss", "gemodel", a rule's Name…).
	FaultName() string
	// Validate reports a setting outside its domain, naming the field and
	// its value.
	Validate() error
	// NewInjector returns a fresh injector that draws only from r.
	NewInjector(r *rand.Rand) (Injector, error)
}

// Injector decides, packet by packet, what a fault does. Inject is called in
// scheduler context for every packet reaching the fault, in order.
type Injector interface {
	Inject(p *FaultPacket) Action
}

// Action is an injector's decision for one packet. The zero Action lets the
// packet through untouched. Drop wins over everything else.
type Action struct {
	// Drop discards the packet.
	Drop bool
	// Duplicate sends an extra copy; the copy goes through the remaining
	// faults on its own (with the original's Seq).
	Duplicate bool
	// Corrupt flips bit CorruptBit (counted from the first byte's most
	// significant bit, modulo the packet's length in bits).
	Corrupt    bool
	CorruptBit int
	// Delay is extra delay added on top of the link's delay.
	Delay time.Duration
	// Immediate makes the packet skip the propagation delay and jitter
	// (netem's reorder: the packet goes "to the front of the queue").
	Immediate bool
}

// FaultPacket is what an injector sees of a packet. It is reused: do not keep
// it or Data after Inject returns, and do not modify Data.
type FaultPacket struct {
	// Time is the current virtual time.
	Time time.Duration
	// Seq is the packet's ordinal in this link direction (1 = first).
	Seq uint64
	// Data is the packet as it is now (earlier faults may have corrupted it).
	Data []byte
	// Link and From identify the direction: packets leaving end From.
	Link *Link
	From int

	f *frame
}

// Packet decodes the packet as IPv4+TCP (checksums not verified), once per
// packet. The result must not be modified or kept.
func (p *FaultPacket) Packet() (*segment.Packet, error) {
	f := p.f
	if f == nil {
		var pk segment.Packet
		err := pk.Decode(p.Data, false)
		return &pk, err
	}
	if f.decoded == 0 {
		f.decErr = f.pkt.Decode(f.buf, false)
		f.decoded = 1
	}
	return &f.pkt, f.decErr
}

// quickHdr is what the built-in matchers need, read straight from the
// bytes without a full decode.
type quickHdr struct {
	ip       bool // a valid IPv4 header (checksum not verified)
	tcp      bool // carrying a TCP header that fits
	flags    segment.Flags
	payload  int
	src, dst netip.Addr
}

func (p *FaultPacket) quickHdr() *quickHdr {
	f := p.f
	if f == nil {
		f = &frame{buf: p.Data}
		p.f = f
	}
	if f.quick != 0 {
		return &f.qh
	}
	f.quick = 1
	q := &f.qh
	*q = quickHdr{}
	v := ippacket.View(f.buf)
	if v.Check(false) != nil {
		return q
	}
	q.ip, q.src, q.dst = true, v.Src(), v.Dst()
	if v.Protocol() != ippacket.ProtocolTCP || v.FragOffset() != 0 {
		return q
	}
	tcp := v.Payload()
	if len(tcp) < segment.HeaderLen {
		return q
	}
	off := int(tcp[12]>>4) * 4
	if off < segment.HeaderLen || off > len(tcp) {
		return q
	}
	q.tcp, q.flags, q.payload = true, segment.Flags(tcp[13]), len(tcp)-off
	return q
}

func checkProb(field string, p float64) error {
	if math.IsNaN(p) || p < 0 || p > 1 {
		return fmt.Errorf("%w: %s = %v (must be in [0, 1])", ErrInvalid, field, p)
	}
	return nil
}

// ---- random loss ----

// Loss drops each packet independently with probability P
// (netem: loss random P).
type Loss struct{ P float64 }

// FaultName returns "loss".
func (Loss) FaultName() string { return "loss" }

// Validate checks that P is a probability.
func (f Loss) Validate() error { return checkProb("Loss.P", f.P) }

// NewInjector returns the injector.
func (f Loss) NewInjector(r *rand.Rand) (Injector, error) {
	return &lossInj{p: f.P, r: r}, f.Validate()
}

type lossInj struct {
	p float64
	r *rand.Rand
}

func (l *lossInj) Inject(*FaultPacket) Action {
	return Action{Drop: l.r.Float64() < l.p}
}

// ---- Gilbert-Elliott ----

// GilbertElliott is burst loss from a two-state Markov chain, netem's
// "loss gemodel p r 1-h 1-k". The chain is in the Good or the Bad state; each
// packet is lost with probability GoodLoss (1-k) in Good and BadLoss (1-h)
// in Bad, then the chain moves Good→Bad with probability P and Bad→Good
// with probability R. With GoodLoss 0 and BadLoss 1 (the simple Gilbert
// model) loss bursts have mean length 1/R and the loss rate is P/(P+R).
// The chain starts in Good.
type GilbertElliott struct {
	P, R     float64
	BadLoss  float64 // netem's 1-h
	GoodLoss float64 // netem's 1-k
}

// GEModel returns netem's "loss gemodel p r" with its defaults for the
// other two parameters: 1-h = 1 (every packet lost in Bad), 1-k = 0.
func GEModel(p, r float64) GilbertElliott {
	return GilbertElliott{P: p, R: r, BadLoss: 1}
}

// FaultName returns "gemodel".
func (GilbertElliott) FaultName() string { return "gemodel" }

// Validate checks that all four parameters are probabilities.
func (f GilbertElliott) Validate() error {
	if err := checkProb("GilbertElliott.P", f.P); err != nil {
		return err
	}
	if err := checkProb("GilbertElliott.R", f.R); err != nil {
		return err
	}
	if err := checkProb("GilbertElliott.BadLoss", f.BadLoss); err != nil {
		return err
	}
	return checkProb("GilbertElliott.GoodLoss", f.GoodLoss)
}

// NewInjector returns the injector.
func (f GilbertElliott) NewInjector(r *rand.Rand) (Injector, error) {
	return &geInj{cfg: f, r: r}, f.Validate()
}

type geInj struct {
	cfg GilbertElliott
	r   *rand.Rand
	bad bool
}

func (g *geInj) Inject(*FaultPacket) Action {
	var lost bool
	if g.bad {
		lost = g.r.Float64() < g.cfg.BadLoss
		if g.r.Float64() < g.cfg.R {
			g.bad = false
		}
	} else {
		lost = g.r.Float64() < g.cfg.GoodLoss
		if g.r.Float64() < g.cfg.P {
			g.bad = true
		}
	}
	return Action{Drop: lost}
}

// ---- duplicate, corrupt ----

// Duplicate sends each packet twice with probability P (netem: duplicate P).
type Duplicate struct{ P float64 }

// FaultName returns "duplicate".
func (Duplicate) FaultName() string { return "duplicate" }

// Validate checks that P is a probability.
func (f Duplicate) Validate() error { return checkProb("Duplicate.P", f.P) }

// NewInjector returns the injector.
func (f Duplicate) NewInjector(r *rand.Rand) (Injector, error) {
	return &dupInj{p: f.P, r: r}, f.Validate()
}

type dupInj struct {
	p float64
	r *rand.Rand
}

func (d *dupInj) Inject(*FaultPacket) Action {
	return Action{Duplicate: d.r.Float64() < d.p}
}

// Corrupt flips one random bit of each packet with probability P
// (netem: corrupt P). The IPv4 header checksum or the TCP checksum catches
// every single-bit error, so receivers drop such packets.
type Corrupt struct{ P float64 }

// FaultName returns "corrupt".
func (Corrupt) FaultName() string { return "corrupt" }

// Validate checks that P is a probability.
func (f Corrupt) Validate() error { return checkProb("Corrupt.P", f.P) }

// NewInjector returns the injector.
func (f Corrupt) NewInjector(r *rand.Rand) (Injector, error) {
	return &corruptInj{p: f.P, r: r}, f.Validate()
}

type corruptInj struct {
	p float64
	r *rand.Rand
}

func (c *corruptInj) Inject(p *FaultPacket) Action {
	if c.r.Float64() >= c.p || len(p.Data) == 0 {
		return Action{}
	}
	return Action{Corrupt: true, CorruptBit: c.r.IntN(len(p.Data) * 8)}
}

// ---- reorder ----

// Reorder is netem's "reorder P gap Gap": after Gap-1 packets that take the
// normal path, each packet skips the propagation delay and jitter with
// probability P (it is sent "immediately" and overtakes packets still in
// flight); a packet that does so restarts the count. Gap 0 means 1 (as tc
// sets it), so every packet is a candidate. Like netem, this needs a
// non-zero link Delay to have any effect.
type Reorder struct {
	P   float64
	Gap int
}

// FaultName returns "reorder".
func (Reorder) FaultName() string { return "reorder" }

// Validate checks P and Gap.
func (f Reorder) Validate() error {
	if f.Gap < 0 {
		return fmt.Errorf("%w: Reorder.Gap = %d (must not be negative)", ErrInvalid, f.Gap)
	}
	return checkProb("Reorder.P", f.P)
}

// NewInjector returns the injector.
func (f Reorder) NewInjector(r *rand.Rand) (Injector, error) {
	gap := f.Gap
	if gap == 0 {
		gap = 1
	}
	return &reorderInj{p: f.P, gap: gap, r: r}, f.Validate()
}

type reorderInj struct {
	p       float64
	gap     int
	counter int
	r       *rand.Rand
}

func (o *reorderInj) Inject(*FaultPacket) Action {
	if o.counter < o.gap-1 || o.r.Float64() >= o.p {
		o.counter++
		return Action{}
	}
	o.counter = 0
	return Action{Immediate: true}
}

// ReorderDelay holds back each packet with probability P by an extra Delay,
// so that packets sent after it overtake it.
type ReorderDelay struct {
	P     float64
	Delay time.Duration
}

// FaultName returns "reorder-delay".
func (ReorderDelay) FaultName() string { return "reorder-delay" }

// Validate checks P and Delay.
func (f ReorderDelay) Validate() error {
	if f.Delay < 0 {
		return fmt.Errorf("%w: ReorderDelay.Delay = %v (must not be negative)", ErrInvalid, f.Delay)
	}
	return checkProb("ReorderDelay.P", f.P)
}

// NewInjector returns the injector.
func (f ReorderDelay) NewInjector(r *rand.Rand) (Injector, error) {
	return &reorderDelayInj{cfg: f, r: r}, f.Validate()
}

type reorderDelayInj struct {
	cfg ReorderDelay
	r   *rand.Rand
}

func (o *reorderDelayInj) Inject(*FaultPacket) Action {
	if o.r.Float64() < o.cfg.P {
		return Action{Delay: o.cfg.Delay}
	}
	return Action{}
}

// ---- scripted rules ----

// RuleAction is what a Rule does to the packets it selects.
type RuleAction uint8

// Rule actions.
const (
	RuleDrop RuleAction = iota + 1
	RuleDelay
	RuleDuplicate
	RuleCorrupt
)

// String returns the action's name ("drop", "delay", …).
func (a RuleAction) String() string {
	switch a {
	case RuleDrop:
		return "drop"
	case RuleDelay:
		return "delay"
	case RuleDuplicate:
		return "duplicate"
	case RuleCorrupt:
		return "corrupt"
	}
	return fmt.Sprintf("action(%d)", uint8(a))
}

// Matcher selects packets for a Rule. It is called in scheduler context and
// must be a pure function of the packet (a Rule counts matches itself, so
// that one Matcher can be shared by both directions of a link).
type Matcher func(p *FaultPacket) bool

// Rule is a scripted fault: Action applied to the packets Match selects.
// With Nth > 0 only the Nth matching packet in the direction is affected
// (1 = the first). Examples:
//
//	Rule{Name: "drop-3rd-data", Match: And(From(client), DataSegment), Nth: 3, Action: RuleDrop}
//	Rule{Name: "slow-synack", Match: FlagsExactly(segment.FlagSYN|segment.FlagACK), Action: RuleDelay, Delay: time.Second}
//	Rule{Name: "partition", Match: Between(2*time.Second, 3*time.Second), Action: RuleDrop}
type Rule struct {
	// Name names the rule in the log's drop reasons and in seeds; it
	// defaults to "rule".
	Name string
	// Match selects packets; nil selects every packet.
	Match Matcher
	// Nth, when positive, limits the rule to the Nth match.
	Nth int
	// Action is what happens to selected packets.
	Action RuleAction
	// Delay is the extra delay for RuleDelay.
	Delay time.Duration
}

// FaultName returns Name, or "rule".
func (r Rule) FaultName() string {
	if r.Name == "" {
		return "rule"
	}
	return r.Name
}

// Validate checks Action, Delay and Nth.
func (r Rule) Validate() error {
	switch {
	case r.Action < RuleDrop || r.Action > RuleCorrupt:
		return fmt.Errorf("%w: Rule %q: Action = %d (must be RuleDrop, RuleDelay, RuleDuplicate or RuleCorrupt)", ErrInvalid, r.FaultName(), r.Action)
	case r.Delay < 0:
		return fmt.Errorf("%w: Rule %q: Delay = %v (must not be negative)", ErrInvalid, r.FaultName(), r.Delay)
	case r.Nth < 0:
		return fmt.Errorf("%w: Rule %q: Nth = %d (must not be negative)", ErrInvalid, r.FaultName(), r.Nth)
	}
	return nil
}

// NewInjector returns the injector.
func (r Rule) NewInjector(rng *rand.Rand) (Injector, error) {
	return &ruleInj{rule: r, r: rng}, r.Validate()
}

type ruleInj struct {
	rule    Rule
	r       *rand.Rand
	matches int
}

func (ri *ruleInj) Inject(p *FaultPacket) Action {
	if ri.rule.Match != nil && !ri.rule.Match(p) {
		return Action{}
	}
	ri.matches++
	if ri.rule.Nth > 0 && ri.matches != ri.rule.Nth {
		return Action{}
	}
	switch ri.rule.Action {
	case RuleDrop:
		return Action{Drop: true}
	case RuleDelay:
		return Action{Delay: ri.rule.Delay}
	case RuleDuplicate:
		return Action{Duplicate: true}
	case RuleCorrupt:
		if len(p.Data) == 0 {
			return Action{}
		}
		return Action{Corrupt: true, CorruptBit: ri.r.IntN(len(p.Data) * 8)}
	}
	return Action{}
}

// ---- matchers ----

// And selects packets every m selects.
func And(ms ...Matcher) Matcher {
	return func(p *FaultPacket) bool {
		for _, m := range ms {
			if !m(p) {
				return false
			}
		}
		return true
	}
}

// Or selects packets any m selects.
func Or(ms ...Matcher) Matcher {
	return func(p *FaultPacket) bool {
		for _, m := range ms {
			if m(p) {
				return true
			}
		}
		return false
	}
}

// Not selects packets m does not select.
func Not(m Matcher) Matcher { return func(p *FaultPacket) bool { return !m(p) } }

// Between selects packets entering the link at t0 <= time < t1.
func Between(t0, t1 time.Duration) Matcher {
	return func(p *FaultPacket) bool { return p.Time >= t0 && p.Time < t1 }
}

// SeqRange selects the packets whose ordinal in the direction is in [lo, hi].
func SeqRange(lo, hi uint64) Matcher {
	return func(p *FaultPacket) bool { return p.Seq >= lo && p.Seq <= hi }
}

// TCP selects packets that decode as IPv4+TCP and satisfy f.
func TCP(f func(*segment.Packet) bool) Matcher {
	return func(p *FaultPacket) bool {
		pk, err := p.Packet()
		return err == nil && f(pk)
	}
}

// DataSegment selects TCP segments that carry payload.
var DataSegment Matcher = func(p *FaultPacket) bool {
	q := p.quickHdr()
	return q.tcp && q.payload > 0
}

// FlagsExactly selects TCP segments whose flags are exactly f.
func FlagsExactly(f segment.Flags) Matcher {
	return func(p *FaultPacket) bool {
		q := p.quickHdr()
		return q.tcp && q.flags == f
	}
}

// FlagsSet selects TCP segments that have every flag in f set.
func FlagsSet(f segment.Flags) Matcher {
	return func(p *FaultPacket) bool {
		q := p.quickHdr()
		return q.tcp && q.flags.Has(f)
	}
}

// From selects IPv4 packets whose source is addr.
func From(addr netip.Addr) Matcher {
	return func(p *FaultPacket) bool {
		q := p.quickHdr()
		return q.ip && q.src == addr
	}
}

// To selects IPv4 packets whose destination is addr.
func To(addr netip.Addr) Matcher {
	return func(p *FaultPacket) bool {
		q := p.quickHdr()
		return q.ip && q.dst == addr
	}
}
