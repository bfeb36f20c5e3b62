package stack

import (
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// Rate limiting of the ACKs a host sends in answer to unacceptable
// segments.
//
// RFC 9293 answers many unacceptable segments with an ACK: a sequence
// number outside the window (§3.10.7.4 first step), an ACK of data never
// sent (fifth step), an ACK older than SND.UNA − MAX.SND.WND (RFC 5961
// §5.2), and an in-window RST or a SYN (the challenge ACKs of RFC 5961 §3.2
// and §4.2). Two ends that disagree about the sequence space (one blind
// injected segment is enough) then answer each other's ACKs for ever, one
// pair per round trip, and on a zero-delay link at a single instant.
// Every such ACK passes through one limiter with two stages, as in Linux:
//
//  1. per connection: at most one per InvalidAckInterval (Linux
//     tcp_invalid_ratelimit, 500 ms; __tcp_oow_rate_limited), one clock
//     shared by every kind of ACK below;
//  2. per host: at most about ChallengeAckLimit per second (RFC 5961 §7;
//     Linux tcp_challenge_ack_limit). The budget of each second is drawn
//     from [limit/2, 3·limit/2) by a keyed hash of the second, as Linux
//     randomises it, so that the shared counter does not tell an off-path
//     observer how many challenge ACKs others drew (CVE-2016-5696).
//
// Like Linux's tcp_oow_rate_limited, an out-of-window segment that occupies
// sequence space (data or FIN) and carries no SYN is exempt: the peer sent
// it on its own, not in answer to an ACK, so it cannot be part of a loop,
// and an old retransmission (or a retransmitted FIN in TIME_WAIT) needs its
// ACK to resynchronise the sender.

// ackKind says why an ACK answers an unacceptable segment; it picks the
// counter of a suppressed ACK.
type ackKind uint8

const (
	ackOutOfWindow ackKind = iota // first check: sequence number outside the window
	ackUnsentData                 // SEG.ACK > SND.NXT
	ackChallenge                  // RST or SYN (RFC 5961 §3.2, §4.2), or an ACK too old (§5.2)
	ackPAWS                       // an old duplicate PAWS rejected (RFC 7323 §5.3 R1)
)

// Defaults of the limiter.
const (
	DefaultInvalidAckInterval = 500 * time.Millisecond
	DefaultChallengeAckLimit  = 1000
)

// applyAckLimitDefaults fills in the limiter's fields of TCPConfig: zero
// takes the default, a negative value disables the stage.
func (c *TCPConfig) applyAckLimitDefaults() {
	if c.InvalidAckInterval == 0 {
		c.InvalidAckInterval = DefaultInvalidAckInterval
	}
	if c.ChallengeAckLimit == 0 {
		c.ChallengeAckLimit = DefaultChallengeAckLimit
	}
}

// sendInvalidAck sends the ACK that answers an unacceptable segment, unless
// the limiter suppresses it. It reports whether the ACK went out.
func (c *Conn) sendInvalidAck(kind ackKind) bool {
	if !c.h.allowInvalidAck(c, kind) {
		return false
	}
	c.sendAck()
	return true
}

// allowInvalidAck runs both stages of the limiter for one ACK of c and
// counts a suppressed one.
func (h *Host) allowInvalidAck(c *Conn, kind ackKind) bool {
	now := h.env.Now()
	if iv := h.cfg.InvalidAckInterval; iv > 0 {
		if c.invalidAckSet && now-c.invalidAckAt < iv {
			switch {
			case kind == ackChallenge:
				h.counters.TCPACKSkippedChallenge++
			case kind == ackPAWS:
				h.counters.TCPACKSkippedPAWS++
			case c.state == StateTimeWait:
				h.counters.TCPACKSkippedTimeWait++
			case c.state == StateSynReceived:
				h.counters.TCPACKSkippedSynRecv++
			default:
				h.counters.TCPACKSkippedSeq++
			}
			return false
		}
		c.invalidAckAt, c.invalidAckSet = now, true
	}
	limit := h.cfg.ChallengeAckLimit
	if limit < 0 {
		return true
	}
	if sec := int64(now / time.Second); !h.invalidAckSecSet || sec != h.invalidAckSec {
		h.invalidAckSec, h.invalidAckSecSet = sec, true
		h.invalidAckBudget = h.ackBudget(sec, limit)
	}
	if h.invalidAckBudget == 0 {
		h.counters.TCPACKSkippedHostLimit++
		return false
	}
	h.invalidAckBudget--
	return true
}

// ackBudget is the host's allowance for the second sec: a value in
// [half, limit+half) with half = ⌈limit/2⌉, from a keyed hash of sec
// (deterministic per seed, unpredictable without the host's secret).
func (h *Host) ackBudget(sec int64, limit int) int {
	if limit >= 1<<40 {
		return limit // more than any simulation sends in a second
	}
	half := (limit + 1) / 2
	var buf [32 + 16]byte
	copy(buf[:], h.isnSecret[:])
	copy(buf[32:], "ackl")
	binary.BigEndian.PutUint64(buf[40:], uint64(sec))
	sum := sha256.Sum256(buf[:])
	return half + int(binary.BigEndian.Uint64(sum[:8])%uint64(limit))
}
