package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/spf13/pflag"

	"github.com/tcpsim/tcpsim/scenario"
	"github.com/tcpsim/tcpsim/sim"
)

// Captures where the user asks (issue 12): --pcap FILE at the client's end
// of the link as before, --pcap HOST=FILE at a host's end (get and
// transfer: client or server; run: any node, NODE@LINK for one of its
// links), and --pcapng FILE: one pcapng with every link end as an
// interface and every drop on an interface of its direction and reason.

// pcapAt is one --pcap HOST=FILE.
type pcapAt struct {
	node, link, file string
}

// pcapFlag is --pcap: repeatable; FILE (the client's end) at most once,
// HOST=FILE any number of times.
type pcapFlag struct {
	plain *string
	at    *[]pcapAt
}

// pcapTarget is what may stand before "=": a node name, optionally
// @link. A file name with "=" in it is given as ./NAME.
var pcapTarget = regexp.MustCompile(`^[^/=@]+(@[^/=@]+)?$`)

func (p pcapFlag) Set(s string) error {
	if i := strings.IndexByte(s, '='); i > 0 && pcapTarget.MatchString(s[:i]) {
		node, link, _ := strings.Cut(s[:i], "@")
		if s[i+1:] == "" {
			return fmt.Errorf("%q: want HOST=FILE with the file's name after =", s)
		}
		*p.at = append(*p.at, pcapAt{node: node, link: link, file: s[i+1:]})
		return nil
	}
	if *p.plain != "" {
		return fmt.Errorf("%q: a capture at the client's end is already written to %s (use HOST=FILE for other places)", s, *p.plain)
	}
	*p.plain = s
	return nil
}

func (p pcapFlag) String() string {
	if p.plain == nil {
		return ""
	}
	return *p.plain
}

func (p pcapFlag) Type() string { return "[HOST=]FILE" }

// validateCaptures checks --pcap HOST=FILE and --pcapng before the run: a
// host get and transfer do not have and a file that cannot be written are
// bad flag values. hosts lists the known hosts (nil: any, checked later).
func validateCaptures(fs *pflag.FlagSet, at []pcapAt, ng string, hosts []string) error {
	files := map[string]bool{}
	for _, a := range at {
		if hosts != nil {
			if a.link != "" {
				return fmt.Errorf("--pcap %s@%s=%s: this command has one link; give the host alone (%s)", a.node, a.link, a.file, strings.Join(hosts, " or "))
			}
			ok := false
			for _, h := range hosts {
				ok = ok || h == a.node
			}
			if !ok {
				return fmt.Errorf("--pcap %s=%s: no host %q (want %s)", a.node, a.file, a.node, strings.Join(hosts, " or "))
			}
		}
		if files[a.file] {
			return fmt.Errorf("--pcap %s=%s: %s is already the file of another capture", a.node, a.file, a.file)
		}
		files[a.file] = true
		if err := writable(a.file); err != nil {
			return fmt.Errorf("--pcap %s=%s: %v", a.node, a.file, err)
		}
	}
	if fs.Changed("pcapng") {
		if ng == "" {
			return errors.New(`--pcapng "": want the name of the capture file to write`)
		}
		if files[ng] {
			return fmt.Errorf("--pcapng %s: the file of a --pcap too", ng)
		}
		if err := writable(ng); err != nil {
			return fmt.Errorf("--pcapng %s: %v", ng, err)
		}
	}
	return nil
}

func writable(name string) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE, 0o666)
	if err != nil {
		return errors.Unwrap(err)
	}
	return f.Close()
}

// openCaptures starts --pcap HOST=FILE and --pcapng on the network's link.
func (n *network) openCaptures(o *options) error {
	for _, a := range o.pcapAt {
		end := 0
		if a.node == serverName {
			end = 1
		}
		l := n.ends[end]
		f, err := os.Create(a.file)
		if err != nil {
			return fmt.Errorf("--pcap %s=%s: %v", a.node, a.file, err)
		}
		c, err := n.w.Capture(l.End(end), f)
		if err != nil {
			f.Close()
			return err
		}
		n.captures = append(n.captures, openCapture{name: "--pcap " + a.node + "=" + a.file, f: f, close: c.Close})
	}
	if o.pcapng != "" {
		f, err := os.Create(o.pcapng)
		if err != nil {
			return fmt.Errorf("--pcapng: %v", err)
		}
		c, err := n.w.CaptureAll(f, sim.NgOptions{Drops: true})
		if err != nil {
			f.Close()
			return err
		}
		n.ng = c
		n.captures = append(n.captures, openCapture{name: "--pcapng " + o.pcapng, f: f, close: c.Close})
	}
	return nil
}

// openCapture is a capture to stop and its file to close at the end.
type openCapture struct {
	name  string
	f     *os.File
	close func() error
}

// closeCaptures stops the captures and closes their files.
func (n *network) closeCaptures() error {
	var first error
	for _, c := range n.captures {
		err := c.close()
		if cerr := c.f.Close(); err == nil {
			err = cerr
		}
		if err != nil && first == nil {
			first = fmt.Errorf("%s: %v", c.name, err)
		}
	}
	n.captures = nil
	return first
}

// openCaptures opens the files of run's --pcap NODE=FILE and --pcapng and
// checks them against the scenario; closeAll closes the files.
func (o *runOptions) openCaptures(s *scenario.Scenario) (caps []scenario.Capture, closeAll func() error, err error) {
	var files []*os.File
	closeAll = func() error {
		var first error
		for _, f := range files {
			if err := f.Close(); err != nil && first == nil {
				first = err
			}
		}
		return first
	}
	specs := o.pcapAt
	if o.pcapng != "" {
		specs = append(specs[:len(specs):len(specs)], pcapAt{file: o.pcapng})
	}
	for _, a := range specs {
		c := scenario.Capture{Node: a.node, Link: a.link, NG: a.node == "" || strings.HasSuffix(strings.ToLower(a.file), ".pcapng")}
		c.Out = io.Discard
		if err := s.CheckCaptures([]scenario.Capture{c}); err != nil {
			closeAll()
			flag := "--pcap " + a.node
			if a.link != "" {
				flag += "@" + a.link
			}
			flag += "=" + a.file
			if a.node == "" {
				flag = "--pcapng " + a.file
			}
			return nil, nil, fmt.Errorf("%s: %v", flag, err)
		}
		f, err := os.Create(a.file)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		files = append(files, f)
		c.Out = f
		caps = append(caps, c)
	}
	return caps, closeAll, nil
}
