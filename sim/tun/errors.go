package tun

import "errors"

// Errors that Open wraps, so callers can tell the cases apart with errors.Is.
// The wrapping error's message says what to do about it.
var (
	ErrNoTUN      = errors.New("tun: /dev/net/tun is missing (the tun driver is not available)")
	ErrNotFound   = errors.New("tun: device not found")
	ErrNotTUN     = errors.New("tun: not a TUN device")
	ErrDown       = errors.New("tun: device is down")
	ErrBusy       = errors.New("tun: device is busy")
	ErrPermission = errors.New("tun: not permitted")
)
