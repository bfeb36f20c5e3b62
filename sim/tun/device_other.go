//go:build !linux

package tun

import (
	"fmt"
	"runtime"
)

// Device is a TUN device; it exists only on Linux.
type Device struct{}

// Open fails: TUN devices are supported on Linux only.
func Open(name string) (*Device, error) {
	return nil, fmt.Errorf("%w: TUN devices are supported on Linux only, not %s", ErrNoTUN, runtime.GOOS)
}

// OpenInNamespace fails: network namespaces exist on Linux only.
func OpenInNamespace(nsPath, name string) (*Device, error) { return Open(name) }

// InNamespace fails: network namespaces exist on Linux only.
func InNamespace(nsPath string, fn func() error) error {
	return fmt.Errorf("tun: network namespaces exist on Linux only, not %s", runtime.GOOS)
}

// Name returns "".
func (d *Device) Name() string { return "" }

// MTU returns 0.
func (d *Device) MTU() int { return 0 }

// ReadPacket fails.
func (d *Device) ReadPacket(b []byte) (int, error) { return 0, ErrNoTUN }

// WritePacket fails.
func (d *Device) WritePacket(pkt []byte) error { return ErrNoTUN }

// Close does nothing.
func (d *Device) Close() error { return nil }
