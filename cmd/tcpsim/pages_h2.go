package main

// HTTP/2 for get's h2 strategy (RFC 9113) on the virtual driver: every
// frame is read and written by golang.org/x/net/http2's Framer, and every
// header block coded by its hpack; what is here is the streams'
// bookkeeping, in one task per end. The server sends the responses' DATA
// round-robin, one frame of at most 16,384 bytes (the default
// SETTINGS_MAX_FRAME_SIZE) per stream in turn, so responses larger than a
// frame interleave on the connection.

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Frame is the largest DATA frame the server sends.
const h2Frame = 16384

// h2Window is the client's stream window and connection window (a
// variable so that a test can make flow control bite).
var h2Window int64 = 1 << 30

// h2Stream is a response the server is sending.
type h2Stream struct {
	id   uint32
	body io.Reader
	left int64
	win  int64
}

// serveH2 answers the streams of one HTTP/2 connection until the client
// sends GOAWAY or closes.
func (s *site) serveH2(c *tls.Conn) error {
	if p := c.ConnectionState().NegotiatedProtocol; p != "h2" {
		return fmt.Errorf("server: ALPN chose %q, not h2", p)
	}
	br := bufio.NewReader(c)
	bw := bufio.NewWriterSize(c, 32<<10)
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(br, preface); err != nil || string(preface) != http2.ClientPreface {
		return fmt.Errorf("server: no HTTP/2 client preface (%v)", err)
	}
	fr := http2.NewFramer(bw, br)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if err := fr.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: maxObjects + 1}); err != nil {
		return err
	}
	var hbuf bytes.Buffer
	enc := hpack.NewEncoder(&hbuf)
	connWin := int64(65535)
	initWin := int64(65535)
	var pending []*h2Stream
	streams := map[uint32]*h2Stream{}
	goaway, readAny := false, false
	for {
		// Read whatever frames are waiting; block for one when nothing
		// can be sent.
		canSend := false
		for _, st := range pending {
			if st.left == 0 || min(st.win, connWin) > 0 {
				canSend = true
			}
		}
		for !goaway && (!canSend || br.Buffered() > 0) {
			// (The server's SETTINGS wait for the first flush: alone, a
			// small segment would hold the response back behind Nagle.)
			if !canSend && readAny && br.Buffered() == 0 {
				if err := bw.Flush(); err != nil {
					return err
				}
			}
			f, err := fr.ReadFrame()
			readAny = true
			if err != nil {
				if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
					return bw.Flush()
				}
				return fmt.Errorf("server: reading a frame: %w", err)
			}
			switch f := f.(type) {
			case *http2.SettingsFrame:
				if f.IsAck() {
					break
				}
				if v, ok := f.Value(http2.SettingInitialWindowSize); ok {
					for _, st := range streams {
						st.win += int64(v) - initWin
					}
					initWin = int64(v)
				}
				if err := fr.WriteSettingsAck(); err != nil {
					return err
				}
			case *http2.WindowUpdateFrame:
				if f.StreamID == 0 {
					connWin += int64(f.Increment)
				} else if st := streams[f.StreamID]; st != nil {
					st.win += int64(f.Increment)
				}
			case *http2.PingFrame:
				if !f.IsAck() {
					if err := fr.WritePing(true, f.Data); err != nil {
						return err
					}
				}
			case *http2.GoAwayFrame:
				goaway = true
			case *http2.MetaHeadersFrame:
				code, body, size := s.body(f.PseudoValue("path"))
				hbuf.Reset()
				enc.WriteField(hpack.HeaderField{Name: ":status", Value: strconv.Itoa(code)})
				enc.WriteField(hpack.HeaderField{Name: "content-type", Value: contentType(f.PseudoValue("path"), s.pagePath)})
				enc.WriteField(hpack.HeaderField{Name: "content-length", Value: strconv.FormatInt(size, 10)})
				if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: f.StreamID, BlockFragment: hbuf.Bytes(), EndHeaders: true, EndStream: size == 0}); err != nil {
					return err
				}
				if size > 0 {
					st := &h2Stream{id: f.StreamID, body: body, left: size, win: initWin}
					streams[st.id] = st
					pending = append(pending, st)
				}
			}
			canSend = false
			for _, st := range pending {
				if min(st.win, connWin) > 0 {
					canSend = true
				}
			}
		}
		if len(pending) == 0 {
			if goaway {
				return bw.Flush()
			}
			continue
		}
		// One frame for the first stream that may send, then it goes to
		// the back of the line.
		for i, st := range pending {
			k := min(int64(h2Frame), st.left, st.win, connWin)
			if k <= 0 {
				continue
			}
			buf := make([]byte, k)
			if _, err := io.ReadFull(st.body, buf); err != nil {
				return fmt.Errorf("server: %w", err)
			}
			st.left -= k
			st.win -= k
			connWin -= k
			if err := fr.WriteData(st.id, st.left == 0, buf); err != nil {
				return err
			}
			pending = append(pending[:i:i], pending[i+1:]...)
			if st.left > 0 {
				pending = append(pending, st)
			} else {
				delete(streams, st.id)
			}
			break
		}
		if len(pending) == 0 {
			if err := bw.Flush(); err != nil {
				return err
			}
		}
	}
}

// runH2 fetches the page and its objects on one HTTP/2 connection: the
// page on stream 1, then every object's HEADERS in one flush, then the
// DATA frames as they come.
func (cl *h1client) runH2() error {
	p := cl.p
	n := p.n
	c, err := cl.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	tc := c.Conn.(*tls.Conn)
	if proto := tc.ConnectionState().NegotiatedProtocol; proto != "h2" {
		return fmt.Errorf("ALPN: the server chose %q, not h2", proto)
	}
	bw := bufio.NewWriterSize(c, 32<<10)
	bw.WriteString(http2.ClientPreface)
	fr := http2.NewFramer(bw, c.br)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if err := fr.WriteSettings(http2.Setting{ID: http2.SettingEnablePush, Val: 0}, http2.Setting{ID: http2.SettingInitialWindowSize, Val: uint32(h2Window)}); err != nil {
		return err
	}
	if h2Window > 65535 {
		if err := fr.WriteWindowUpdate(0, uint32(h2Window-65535)); err != nil {
			return err
		}
	}
	var hbuf bytes.Buffer
	enc := hpack.NewEncoder(&hbuf)
	authority := p.u.host
	if p.u.portGiven {
		authority = net.JoinHostPort(p.u.host, strconv.Itoa(int(p.u.port)))
	}
	nextID := uint32(1)
	open := map[uint32]*fetchRecord{}
	bodies := map[uint32]io.Writer{}
	request := func(f *fetchRecord) error {
		hbuf.Reset()
		for _, h := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", authority}, {":path", f.path}, {"user-agent", "tcpsim"}} {
			enc.WriteField(hpack.HeaderField{Name: h[0], Value: h[1]})
		}
		f.stream, f.local, f.requested = nextID, c.local, n.w.Now()
		open[nextID] = f
		nextID += 2
		return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: f.stream, BlockFragment: hbuf.Bytes(), EndHeaders: true, EndStream: true})
	}
	var consumed int64 // connection-level bytes since the last WINDOW_UPDATE
	streamUsed := map[uint32]int64{}
	var pageBuf bytes.Buffer
	var cmps = map[uint32]*compareWriter{}
	finish := func(id uint32) {
		f := open[id]
		delete(open, id)
		f.done = n.w.Now()
		if cw := cmps[id]; cw != nil {
			f.got, f.mismatch = cw.n, cw.mismatch
		} else {
			f.body = append([]byte(nil), pageBuf.Bytes()...)
			f.got = int64(len(f.body))
			f.want = int64(len(p.html))
			if string(f.body) != string(p.html) {
				f.mismatch = 0
			}
		}
	}
	// readAll reads frames until no stream is open.
	readAll := func() error {
		for len(open) > 0 {
			// Flush only before blocking: what the frames already read
			// call for goes out together (a lone SETTINGS ACK would hold
			// the next requests behind Nagle).
			if c.br.Buffered() == 0 {
				if err := bw.Flush(); err != nil {
					return err
				}
			}
			f, err := fr.ReadFrame()
			if err != nil {
				return fmt.Errorf("reading a frame: %w", err)
			}
			switch f := f.(type) {
			case *http2.SettingsFrame:
				if !f.IsAck() {
					if err := fr.WriteSettingsAck(); err != nil {
						return err
					}
				}
			case *http2.PingFrame:
				if !f.IsAck() {
					if err := fr.WritePing(true, f.Data); err != nil {
						return err
					}
				}
			case *http2.GoAwayFrame:
				return fmt.Errorf("the server sent GOAWAY (%v)", f.ErrCode)
			case *http2.RSTStreamFrame:
				return fmt.Errorf("the server reset stream %d (%v)", f.StreamID, f.ErrCode)
			case *http2.MetaHeadersFrame:
				rec := open[f.StreamID]
				if rec == nil {
					return fmt.Errorf("HEADERS on stream %d, which is not open", f.StreamID)
				}
				rec.headers = n.w.Now()
				rec.status = f.PseudoValue("status")
				if code, err := strconv.Atoi(rec.status); err == nil {
					rec.status = fmt.Sprintf("%d %s", code, http.StatusText(code))
				}
				if f.StreamEnded() {
					finish(f.StreamID)
				}
			case *http2.DataFrame:
				w := bodies[f.StreamID]
				if w == nil {
					return fmt.Errorf("DATA on stream %d, which is not open", f.StreamID)
				}
				p.h2Data = append(p.h2Data, f.StreamID)
				w.Write(f.Data())
				// Give the windows back once half is used.
				consumed += int64(len(f.Data()))
				streamUsed[f.StreamID] += int64(len(f.Data()))
				if consumed >= h2Window/2 {
					if err := fr.WriteWindowUpdate(0, uint32(consumed)); err != nil {
						return err
					}
					p.h2Updates++
					consumed = 0
				}
				if used := streamUsed[f.StreamID]; used >= h2Window/2 && !f.StreamEnded() {
					if err := fr.WriteWindowUpdate(f.StreamID, uint32(used)); err != nil {
						return err
					}
					p.h2Updates++
					streamUsed[f.StreamID] = 0
				}
				if f.StreamEnded() {
					finish(f.StreamID)
				}
			}
		}
		return nil
	}
	page := &fetchRecord{path: p.u.path, mismatch: -1}
	p.fetches = append(p.fetches, page)
	if err := request(page); err != nil {
		return err
	}
	bodies[page.stream] = &pageBuf
	if err := readAll(); err != nil {
		return err
	}
	for _, f := range p.objects(page.body) {
		if err := request(f); err != nil {
			return err
		}
		cw := newCompareWriter(&genReader{size: f.want})
		cmps[f.stream], bodies[f.stream] = cw, cw
	}
	if err := readAll(); err != nil {
		return err
	}
	if err := fr.WriteGoAway(nextID-2, http2.ErrCodeNo, nil); err != nil {
		return err
	}
	return bw.Flush()
}
