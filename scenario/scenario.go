// Package scenario describes a simulated network and the traffic on it:
// hosts and routers, links with per-direction rate, delay, jitter, queue,
// MTU and netem-style faults, routes, flows (bulk transfers or HTTP GETs,
// each with a start time or an arrival process and a congestion control),
// and timed events (link down and up, partition and heal, a rate or delay
// change, a host crash).
//
// A scenario is a Go value of type Scenario; the YAML format of
// `tcpsim run FILE` (docs/scenarios.md, JSON Schema in
// docs/scenario.schema.json) decodes into exactly these structs, field for
// field. Parse and Load decode a file and report errors with the file, line,
// column and field; Validate rejects an impossible scenario (an unknown
// host, no route, two interfaces with one address, a flow to a port nobody
// listens on) before anything runs; Run builds the world on package sim and
// runs it to the end, returning the flows as package flows sees them.
package scenario

// Scenario is one experiment: a network, the flows on it and the events
// that change it while they run.
type Scenario struct {
	// Name is printed in the report.
	Name string `yaml:"name" json:"name"`
	// Seed is the root of every random decision (faults, jitter, initial
	// sequence numbers, ports, arrival processes without their own seed).
	// tcpsim run --seed overrides it.
	Seed uint64 `yaml:"seed" json:"seed"`
	// Timeout is the virtual-time limit of the run; zero means 10 minutes.
	Timeout Duration `yaml:"timeout" json:"timeout"`
	// Sample, when positive, samples every connection and link direction
	// at this period of virtual time (package report's Series): the run's
	// Result.Series, and the file of tcpsim run --series.
	Sample Duration `yaml:"sample" json:"sample"`
	// Routing is "shortest" (the default: every node gets a route to every
	// host along a shortest path, fewest hops, ties broken by link order)
	// or "static" (only the routes to directly connected subnets and those
	// in Routes).
	Routing string `yaml:"routing" json:"routing"`

	Hosts   []Host   `yaml:"hosts" json:"hosts"`
	Routers []Router `yaml:"routers" json:"routers"`
	Links   []Link   `yaml:"links" json:"links"`
	Routes  []Route  `yaml:"routes" json:"routes"`
	Flows   []Flow   `yaml:"flows" json:"flows"`
	Events  []Event  `yaml:"events" json:"events"`

	src *source // where the value was decoded from, for error positions
}

// Host is a TCP/IP endpoint (package stack). Its name resolves, in the
// world's hosts table, to the address of its first interface.
type Host struct {
	Name string `yaml:"name" json:"name"`
	// TCP configures every connection the host makes or accepts.
	TCP TCP `yaml:"tcp" json:"tcp"`
	// Listen lists the servers the host runs.
	Listen []Listen `yaml:"listen" json:"listen"`
}

// TCP is the part of stack.TCPConfig a scenario sets; zero fields keep the
// defaults of the profile (or, without one, the stack's).
type TCP struct {
	// Profile is "linux" or "rfc", the presets of the CLI's --profile
	// (stack.Profile): Linux 6.x as tcpsim models it (CUBIC, RACK-TLP,
	// quick-ACK, RTO 200 ms to 120 s, ECN accepted) or the RFCs' text
	// (NewReno, RTO 1 s to 60 s, MSL 2 min). Empty (the default) is the
	// zero stack.TCPConfig, tcpsim's own defaults (docs/tcp.md), as a
	// Scenario built in Go leaves it: the file and the Go value mean the
	// same, and a scenario written before profiles existed runs as it did.
	// The fields below apply on top of the profile.
	Profile string `yaml:"profile" json:"profile"`
	// CongestionControl is the host's algorithm for its connections, one
	// of stack.CongestionControls ("newreno", "cubic", "dctcp", "bbr",
	// …); empty: the profile's (newreno without one). A flow's cc
	// overrides it for that flow's connection.
	CongestionControl string `yaml:"congestion_control" json:"congestion_control"`
	// ECN (RFC 3168): on asks for it on connections the host opens and
	// accepts it on those it accepts; off neither. Default: the
	// profile's (linux accepts only; otherwise off), or accept when a
	// flow to this host asks for ECN or the host runs an algorithm that
	// needs it (dctcp).
	ECN        Switch `yaml:"ecn" json:"ecn"`
	SendBuffer Size   `yaml:"sndbuf" json:"sndbuf"`
	RecvBuffer Size   `yaml:"rcvbuf" json:"rcvbuf"`
	NoDelay    bool   `yaml:"nodelay" json:"nodelay"`
	DelayedAck Switch `yaml:"delayed_ack" json:"delayed_ack"`
	Timestamps Switch `yaml:"timestamps" json:"timestamps"`
}

// Listen is a server on a host: a sink that reads and discards what bulk
// flows send, or an HTTP server whose GET /N answers N bytes.
type Listen struct {
	Port int `yaml:"port" json:"port"`
	// App is "sink" (the default) or "http".
	App string `yaml:"app" json:"app"`
}

// Router forwards packets between its links (sim.Router).
type Router struct {
	Name string `yaml:"name" json:"name"`
}

// Link joins two nodes (hosts or routers) with a full-duplex point-to-point
// link. Dir's fields apply to both directions unless AB or BA is given,
// which replaces them for that direction: AB for packets that A sends, BA
// for packets that B sends.
type Link struct {
	// Name defaults to "A-B".
	Name string `yaml:"name" json:"name"`
	A    string `yaml:"a" json:"a"`
	B    string `yaml:"b" json:"b"`
	// AAddress and BAddress are the ends' interface addresses as prefixes
	// ("10.1.0.1/24"). When empty, link number i (from 0) gets
	// 10.x.y.1/24 for A and 10.x.y.2/24 for B, with x.y = i.
	AAddress string `yaml:"a_address" json:"a_address"`
	BAddress string `yaml:"b_address" json:"b_address"`

	Dir `yaml:",inline"`
	AB  *Dir `yaml:"ab" json:"ab"`
	BA  *Dir `yaml:"ba" json:"ba"`
}

// Dir is one direction of a link, in netem's words. The zero value is an
// ideal wire: no delay, unlimited rate and queue, MTU 1500, no faults.
type Dir struct {
	Rate   Rate     `yaml:"rate" json:"rate"`
	Delay  Duration `yaml:"delay" json:"delay"`
	Jitter Duration `yaml:"jitter" json:"jitter"`
	// Distribution of the jitter: "uniform" (the default), "normal" or
	// "pareto".
	Distribution string `yaml:"distribution" json:"distribution"`
	// Queue limits the packets waiting for the transmitter (netem's
	// limit), QueueBytes their bytes; zero means no limit.
	Queue      int  `yaml:"queue" json:"queue"`
	QueueBytes Size `yaml:"queue_bytes" json:"queue_bytes"`
	// Qdisc replaces the drop-tail queue with a discipline written as tc
	// writes it (sim.ParseQdisc): "fq_codel", "codel target 5ms ecn",
	// "pfifo limit 1000 ecn_threshold 20", ... Its limit is its own, so
	// queue and queue_bytes stay unset with it.
	Qdisc string `yaml:"qdisc" json:"qdisc"`
	// MTU is the largest packet carried; zero means 1500.
	MTU int `yaml:"mtu" json:"mtu"`

	// Faults, applied in this order (netem's): loss, loss_ge, duplicate,
	// corrupt, reorder, reorder_delay.
	Loss         Percent       `yaml:"loss" json:"loss"`
	LossGE       *GE           `yaml:"loss_ge" json:"loss_ge"`
	Duplicate    Percent       `yaml:"duplicate" json:"duplicate"`
	Corrupt      Percent       `yaml:"corrupt" json:"corrupt"`
	Reorder      Percent       `yaml:"reorder" json:"reorder"`
	Gap          int           `yaml:"gap" json:"gap"`
	ReorderDelay *ReorderDelay `yaml:"reorder_delay" json:"reorder_delay"`
}

// GE is Gilbert-Elliott burst loss, netem's "loss gemodel p r 1-h 1-k"
// (sim.GilbertElliott). BadLoss (1-h) defaults to 100 % when nil.
type GE struct {
	P        Percent  `yaml:"p" json:"p"`
	R        Percent  `yaml:"r" json:"r"`
	BadLoss  *Percent `yaml:"bad_loss" json:"bad_loss"`
	GoodLoss Percent  `yaml:"good_loss" json:"good_loss"`
}

// ReorderDelay holds back a packet with probability P by an extra Delay, so
// that later packets overtake it (sim.ReorderDelay).
type ReorderDelay struct {
	P     Percent  `yaml:"p" json:"p"`
	Delay Duration `yaml:"delay" json:"delay"`
}

// Route is a static route: on Node, packets for To leave by the link to Via.
type Route struct {
	Node string `yaml:"node" json:"node"`
	// To is a prefix ("10.0.3.0/24") or a host's name (all its addresses).
	To string `yaml:"to" json:"to"`
	// Via is a neighbour of Node or the name of a link of Node's.
	Via string `yaml:"via" json:"via"`
}

// Flow is one connection, or Count of them, from a host to a server.
type Flow struct {
	// Name defaults to "flowN" (N from 1, in file order); flows of a Count
	// are "name#1", "name#2", ….
	Name string `yaml:"name" json:"name"`
	From string `yaml:"from" json:"from"`
	To   string `yaml:"to" json:"to"`
	Port int    `yaml:"port" json:"port"`
	// Count repeats the flow; zero means 1.
	Count int `yaml:"count" json:"count"`
	// Start is when the (first) flow opens its connection.
	Start Duration `yaml:"start" json:"start"`
	// Arrival spreads a Count of flows after Start.
	Arrival *Arrival `yaml:"arrival" json:"arrival"`
	// Size is what the client sends (bulk, on_off) or asks for (http_get;
	// request_response: each response).
	Size Size `yaml:"size" json:"size"`
	// Duration, for bulk and on_off instead of Size, is how long the
	// client sends, from its connection's start (iperf3's -t).
	Duration Duration `yaml:"duration" json:"duration"`
	// CC is the congestion control of the flow's connection on its source
	// host (stack.Conn.SetCongestionControl, set before the SYN is
	// answered, as TCP_CONGESTION before connect), one of
	// stack.CongestionControls; flows from one host may differ. Empty:
	// the host's. For http_get and request_response the data comes from
	// the server, whose host's tcp.congestion_control governs it.
	CC string `yaml:"cc" json:"cc"`
	// Profile, "linux" or "rfc", sets the source host's tcp.profile (a
	// profile is a host's), so flows from one host must agree with each
	// other and with the host. Empty: the host's.
	Profile string `yaml:"profile" json:"profile"`
	// ECN on sets the source host's tcp.ecn to on and lets the destination
	// accept ECN (unless its tcp.ecn is off: an error); off sets the
	// source's to off. As for Profile, flows from one host must agree.
	ECN Switch `yaml:"ecn" json:"ecn"`
	// App is "bulk" (the default: send Size bytes, or for Duration, to a
	// sink), "http_get" (GET Size bytes from an http listener),
	// "request_response" (Requests GETs of Size bytes one after the other
	// on one connection, Think between a response and the next request)
	// or "on_off" (to a sink: send for On, stay silent for Off, again,
	// until Size bytes or Duration).
	App string `yaml:"app" json:"app"`
	// Requests is request_response's number of requests (default 1).
	Requests int `yaml:"requests" json:"requests"`
	// Think is request_response's pause between a response and the next
	// request.
	Think Duration `yaml:"think" json:"think"`
	// On and Off are on_off's sending and silent periods.
	On  Duration `yaml:"on" json:"on"`
	Off Duration `yaml:"off" json:"off"`
}

// Arrival is when the flows of a Count start, after Flow.Start.
type Arrival struct {
	// Process is "fixed" (flow i of N starts at i·Over/N) or "poisson"
	// (gaps drawn from an exponential distribution of mean MeanGap).
	Process string   `yaml:"process" json:"process"`
	Over    Duration `yaml:"over" json:"over"`
	MeanGap Duration `yaml:"mean_gap" json:"mean_gap"`
	// Seed of the Poisson process; zero derives one from the scenario's
	// seed and the flow's place in the file.
	Seed uint64 `yaml:"seed" json:"seed"`
}

// Event changes the network at time At. Exactly one of the actions is set.
type Event struct {
	At Duration `yaml:"at" json:"at"`

	// LinkDown cuts the named link, both ways, until a LinkUp of it.
	LinkDown string `yaml:"link_down" json:"link_down"`
	LinkUp   string `yaml:"link_up" json:"link_up"`
	// Partition cuts every link with one end in these nodes and the other
	// outside, until the next Heal.
	Partition []string `yaml:"partition" json:"partition"`
	Heal      bool     `yaml:"heal" json:"heal"`
	// Set changes a link's rate or delay from At on.
	Set *LinkChange `yaml:"set" json:"set"`
	// Crash silences a host from At: nothing it sends leaves and nothing
	// reaches it, until a Restart of it.
	Crash string `yaml:"crash" json:"crash"`
	// Restart brings a crashed host back at At with a fresh stack on the
	// same addresses: no connections, its servers listening again; the
	// crashed stack's connections are gone (their applications see them
	// reset), and its peers' segments for them draw resets.
	Restart string `yaml:"restart" json:"restart"`
}

// LinkChange is a new rate or delay for one or both directions of a link.
type LinkChange struct {
	Link string `yaml:"link" json:"link"`
	// Dir is "ab", "ba" or "both" (the default).
	Dir   string    `yaml:"dir" json:"dir"`
	Rate  *Rate     `yaml:"rate" json:"rate"`
	Delay *Duration `yaml:"delay" json:"delay"`
}
