package stack

import "github.com/tcpsim/tcpsim/segment"

// Per-connection IP header settings, as a TCP socket's IP_TOS and
// IP_MTU_DISCOVER set them on Linux.

// SetTOS sets the type-of-service byte of the connection's packets, as
// IP_TOS on a TCP socket: its upper six bits (the DSCP, RFC 2474) go on
// every packet the connection sends from now on; the two low bits are the
// ECN field (RFC 3168), which stays the engine's, as Linux keeps a TCP
// socket's ECN bits whatever IP_TOS says.
func (c *Conn) SetTOS(tos uint8) { c.tos = tos &^ 3 }

// TOS is the DSCP part of the type-of-service byte SetTOS set (0 by
// default).
func (c *Conn) TOS() uint8 { return c.tos }

// SetDontFragment sets whether the connection's packets carry DF (RFC
// 791), as IP_MTU_DISCOVER does: false is IP_PMTUDISC_DONT, true (the
// default) the other modes. tcpsim never fragments and does no path MTU
// discovery either way: every packet fits the interface MTU, and only the
// DF bit on the wire changes.
func (c *Conn) SetDontFragment(on bool) { c.noDF = !on }

// DontFragment reports whether the connection's packets carry DF.
func (c *Conn) DontFragment() bool { return !c.noDF }

// emit sends one of the connection's segments with its IP header settings.
func (c *Conn) emit(th *segment.Header, p1, p2 []byte) {
	c.h.txTOS, c.h.txNoDF = c.tos, c.noDF
	c.h.emit(c.ifIdx, &c.key, th, p1, p2)
}
