package ippacket

import (
	"encoding/binary"
	"math/bits"
)

// Sum returns the 16-bit ones' complement sum of b (RFC 1071), added to
// initial, folded to 16 bits and not complemented. Sums chain: the sum of a
// concatenation is Sum(second, Sum(first, 0)) provided first has even length.
// An odd trailing byte is summed as if padded with a zero byte.
func Sum(b []byte, initial uint16) uint16 {
	// Ones' complement addition is associative and commutative, and adding
	// 64-bit big-endian words with end-around carry folds to the same 16-bit
	// result as adding 16-bit words one by one (RFC 1071 §2(B), "parallel
	// summation"), so the loop handles 32 bytes per iteration.
	acc := uint64(initial)
	var c uint64
	for len(b) >= 32 {
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[8:]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[16:]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[24:]), c)
		b = b[32:]
	}
	for len(b) >= 8 {
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b), c)
		b = b[8:]
	}
	acc, c = bits.Add64(acc, 0, c) // end-around carry
	acc += c
	if len(b) >= 4 {
		acc, c = bits.Add64(acc, uint64(binary.BigEndian.Uint32(b)), 0)
		acc += c
		b = b[4:]
	}
	if len(b) >= 2 {
		acc, c = bits.Add64(acc, uint64(binary.BigEndian.Uint16(b)), 0)
		acc += c
		b = b[2:]
	}
	if len(b) == 1 {
		acc, c = bits.Add64(acc, uint64(b[0])<<8, 0)
		acc += c
	}
	// Fold 64 → 32 → 16 bits with end-around carries.
	s := (acc >> 32) + (acc & 0xffffffff)
	s = (s >> 32) + (s & 0xffffffff)
	s = (s >> 16) + (s & 0xffff)
	s = (s >> 16) + (s & 0xffff)
	s = (s >> 16) + (s & 0xffff)
	return uint16(s)
}

// Checksum returns the Internet checksum of b starting from the partial sum
// initial: the ones' complement of Sum. Over a header whose checksum field is
// zero it gives the value to store; over a header with a correct checksum in
// place it gives 0.
func Checksum(b []byte, initial uint16) uint16 { return ^Sum(b, initial) }
