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
	// Three facts from RFC 1071 §2 make this fast without unsafe code:
	//   - ones' complement addition is associative and commutative, so 64-bit
	//     words added with end-around carry fold to the same 16-bit sum as
	//     16-bit words added one by one ("parallel summation", §2(C));
	//   - the sum is byte-order independent (§2(B)): summing the words read
	//     little-endian gives the byte-swapped sum, so the loop reads them
	//     little-endian (a plain load on amd64 and arm64; still correct, only
	//     slower, on a big-endian machine) and swaps once at the end instead
	//     of swapping every word;
	//   - carries can be deferred: the add-with-carry chain runs across a
	//     block of 64 bytes (then 32, 16, 8 for the rest) and the last carry
	//     is added back once per block. (Blocks of 128 bytes cost more
	//     instructions: the compiler loads all 16 words first and spills
	//     half of them to the stack.)
	// Slicing to fixed-size arrays lets the compiler drop bounds checks.
	acc := uint64(bits.ReverseBytes16(initial))
	var c uint64
	for len(b) >= 64 {
		w := (*[64]byte)(b)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(w[0:8]), 0)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(w[8:16]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(w[16:24]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(w[24:32]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(w[32:40]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(w[40:48]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(w[48:56]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(w[56:64]), c)
		acc += c // cannot overflow: a carry out leaves acc at most 2^64-2
		b = b[64:]
	}
	if len(b) >= 32 {
		w := (*[32]byte)(b)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(w[0:8]), 0)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(w[8:16]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(w[16:24]), c)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(w[24:32]), c)
		acc += c
		b = b[32:]
	}
	if len(b) >= 16 {
		w := (*[16]byte)(b)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(w[0:8]), 0)
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(w[8:16]), c)
		acc += c
		b = b[16:]
	}
	if len(b) >= 8 {
		acc, c = bits.Add64(acc, binary.LittleEndian.Uint64(b), 0)
		acc += c
		b = b[8:]
	}
	// The last 0–7 bytes, gathered into one little-endian word; an odd last
	// byte lands in the low half of its 16-bit lane, which after the final
	// swap is the high (first) byte, i.e. the zero padding of RFC 1071 §1.
	var t uint64
	if len(b) >= 4 {
		t = uint64(binary.LittleEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		t = t<<16 | uint64(binary.LittleEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		t = t<<16 | uint64(b[0])
	}
	acc, c = bits.Add64(acc, t, 0)
	acc += c
	// Fold 64 → 32 → 16 bits with end-around carries, then undo the swap.
	s := (acc >> 32) + (acc & 0xffffffff) // at most 0x1_ffff_fffe
	s = (s >> 32) + (s & 0xffffffff)      // at most 0xffff_ffff
	s = (s >> 16) + (s & 0xffff)          // at most 0x1_fffe
	s = (s >> 16) + (s & 0xffff)          // at most 0xffff
	return bits.ReverseBytes16(uint16(s))
}

// Checksum returns the Internet checksum of b starting from the partial sum
// initial: the ones' complement of Sum. Over a header whose checksum field is
// zero it gives the value to store; over a header with a correct checksum in
// place it gives 0.
func Checksum(b []byte, initial uint16) uint16 { return ^Sum(b, initial) }
