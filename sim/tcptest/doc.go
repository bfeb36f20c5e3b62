// Package tcptest is tcpsim's toolkit for testing TCP behaviour at the level
// of headers, in process and on exact virtual time:
//
//   - Matcher: checks one IPv4+TCP packet against expected header fields
//     built from options (Flags, RelSeq, RelAck, Window, MSS, Timestamps,
//     TTL, DF, …); every field left unset matches anything, and a failed
//     match reports both packets as tcpdump-style lines with the differing
//     fields named.
//   - Peer: a scripted remote endpoint that drives a real *stack.Host packet
//     by packet. It is the host's clock (stack.Env) and its link
//     (stack.Link): a test injects crafted segments at chosen virtual
//     times, expects the host's segments at exact times, expects silence,
//     and calls the host's socket API in between.
//   - Scripts: a text format close to packetdrill's (see docs/testing.md and
//     ParseScript) that a Peer runs; the conformance suite in
//     testdata/*.pkt checks the engine against RFC 9293 and RFC 6298.
//   - packetdrill's own syntax (ParsePacketdrill, RunPacketdrill): system
//     calls on descriptors, blocking calls with "...", packetdrill's
//     tolerance, sysctls mapped to stack.TCPConfig, %{ assert tcpi_* }%
//     mapped to Conn.Info; RunScripts tells the two syntaxes apart per file.
//     Constructs tcpsim does not model stop the script with an
//     *UnsupportedError naming file:line:col.
//   - Log queries over a simulation's event log: one connection's packets in
//     one direction, the handshake, retransmissions, the first data segment.
//
// It is not a packet capture tool (package sim writes pcap files) and not a
// general network emulator: a Peer speaks for exactly one remote endpoint of
// one host, and it does not implement TCP itself. What it sends is exactly
// what the test or script says.
//
// The behaviour the scripts check is that of RFC 9293 (TCP), RFC 6298 (the
// retransmission timer), RFC 5681 (fast retransmit, delayed ACKs), RFC 1122
// §4.2.3 (Nagle, delayed ACKs), RFC 7323 (window scale, timestamps),
// RFC 2018 (SACK) and, in testdata/pd/rfc8985-*.pkt, RFC 8985's worked
// examples of RACK-TLP.
package tcptest
