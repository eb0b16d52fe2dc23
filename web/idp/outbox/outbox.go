// Package outbox is where the local identity provider's mail goes instead of
// the Internet: one RFC 5322 message per file (<dir>/<time>-<id>.eml), which
// any mail client opens, and a reader that lists them and finds the links and
// codes in them for people and tests.
package outbox

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Message is one mail.
type Message struct {
	ID      string // the file name without .eml; stable and URL-safe
	From    string
	To      string
	Subject string
	Date    time.Time
	Body    string // plain text
}

// Links returns the http(s) URLs in the body, in order.
func (m Message) Links() []string { return linkRE.FindAllString(m.Body, -1) }

// Code returns the first six-digit number standing alone in the body (a
// password reset code), or "".
func (m Message) Code() string {
	if c := codeRE.FindStringSubmatch(m.Body); c != nil {
		return c[1]
	}
	return ""
}

var (
	linkRE = regexp.MustCompile(`https?://[^\s<>"]+`)
	codeRE = regexp.MustCompile(`(?m)(?:^|\s)(\d{6})(?:\s|$)`)
)

// Outbox writes and reads messages in one directory. It is safe for
// concurrent use.
type Outbox struct {
	dir  string
	from string
	log  *slog.Logger
	now  func() time.Time
	seq  atomic.Uint64
}

// New returns an outbox in dir (created with mode 0700 on first write),
// sending as from. log gets a line per message; now is the clock.
func New(dir, from string, log *slog.Logger, now func() time.Time) *Outbox {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Outbox{dir: dir, from: from, log: log, now: now}
}

// Dir is the directory the messages are in.
func (o *Outbox) Dir() string { return o.dir }

// Send writes a plain-text message to the outbox.
func (o *Outbox) Send(to, subject, body string) (Message, error) {
	now := o.now()
	m := Message{
		// Time, then a sequence number for messages within one clock tick
		// (or a frozen test clock), so names sort in sending order.
		ID: fmt.Sprintf("%s-%08d-%s", now.UTC().Format("20060102T150405.000000000Z"),
			o.seq.Add(1), strings.ToLower(rand.Text()[:10])),
		From: o.from, To: to, Subject: subject, Date: now, Body: body,
	}
	var b bytes.Buffer
	hdr := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	hdr("From", (&mail.Address{Address: o.from}).String())
	hdr("To", (&mail.Address{Address: to}).String())
	hdr("Subject", mime.QEncoding.Encode("utf-8", subject))
	hdr("Date", now.Format(time.RFC1123Z))
	hdr("Message-ID", "<"+m.ID+"@"+domainOf(o.from)+">")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := io.WriteString(qp, strings.ReplaceAll(body, "\n", "\r\n")); err != nil {
		return Message{}, fmt.Errorf("encode mail: %w", err)
	}
	if err := qp.Close(); err != nil {
		return Message{}, fmt.Errorf("encode mail: %w", err)
	}
	if err := os.MkdirAll(o.dir, 0o700); err != nil {
		return Message{}, fmt.Errorf("outbox: %w", err)
	}
	path := filepath.Join(o.dir, m.ID+".eml")
	// The outbox holds live codes: only the developer may read it.
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		return Message{}, fmt.Errorf("outbox: %w", err)
	}
	o.log.Info("mail written to outbox", "to", to, "subject", subject, "file", path)
	return m, nil
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return "localhost"
}

// List returns every message, newest first. A file that does not parse is
// skipped rather than hiding the others. It reads every file: pages and
// servers use Page.
func (o *Outbox) List() ([]Message, error) {
	ms, _, err := o.Page("", -1)
	return ms, err
}

// PageSize is the number of messages the outbox page shows at a time.
const PageSize = 20

// Page returns up to n messages (all when n < 0), newest first, older than
// the message with ID before (from the newest when before is empty), and
// the ID to pass as before for the next page ("" when there is none). Only
// the files of the page are read: the directory listing is all the rest
// costs. A page of n == 0 is empty and has no next page.
func (o *Outbox) Page(before string, n int) ([]Message, string, error) {
	if n == 0 {
		return nil, "", nil
	}
	ids, err := o.ids()
	if err != nil {
		return nil, "", err
	}
	if before != "" {
		// IDs sort as the messages were sent; ids is newest first.
		i, _ := slices.BinarySearchFunc(ids, before, func(id, b string) int { return strings.Compare(b, id) })
		if i < len(ids) && ids[i] == before {
			i++
		}
		ids = ids[i:]
	}
	var ms []Message
	for i, id := range ids {
		if n >= 0 && len(ms) == n {
			return ms, ids[i-1], nil
		}
		m, err := o.read(id)
		if err != nil {
			o.log.Warn("unreadable message in outbox", "file", id+".eml", "error", err)
			continue
		}
		ms = append(ms, m)
	}
	return ms, "", nil
}

// ids lists the messages' IDs, newest first.
func (o *Outbox) ids() ([]string, error) {
	entries, err := os.ReadDir(o.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	ids := make([]string, 0, len(entries))
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".eml"); ok && !e.IsDir() {
			ids = append(ids, name)
		}
	}
	// IDs start with the time, so they sort as the messages were sent.
	slices.SortFunc(ids, func(a, b string) int { return strings.Compare(b, a) })
	return ids, nil
}

// each calls f on the messages, newest first, until it returns false.
func (o *Outbox) each(f func(Message) bool) error {
	ids, err := o.ids()
	if err != nil {
		return err
	}
	for _, id := range ids {
		m, err := o.read(id)
		if err != nil {
			continue
		}
		if !f(m) {
			return nil
		}
	}
	return nil
}

func (o *Outbox) read(id string) (Message, error) {
	f, err := os.Open(filepath.Join(o.dir, id+".eml"))
	if err != nil {
		return Message{}, err
	}
	defer f.Close()
	msg, err := mail.ReadMessage(f)
	if err != nil {
		return Message{}, fmt.Errorf("parse %s: %w", id, err)
	}
	var body io.Reader = msg.Body
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	raw, err := io.ReadAll(io.LimitReader(body, 1<<20))
	if err != nil {
		return Message{}, fmt.Errorf("read %s: %w", id, err)
	}
	m := Message{ID: id, Body: strings.ReplaceAll(string(raw), "\r\n", "\n")}
	if a, err := mail.ParseAddress(msg.Header.Get("From")); err == nil {
		m.From = a.Address
	}
	if a, err := mail.ParseAddress(msg.Header.Get("To")); err == nil {
		m.To = a.Address
	}
	if s, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err == nil {
		m.Subject = s
	}
	if d, err := msg.Header.Date(); err == nil {
		m.Date = d
	}
	return m, nil
}

// Latest returns the newest message to the address (compared without
// regard to case), or os.ErrNotExist. The provider never calls it: it is
// for tests and tools that read what was sent.
func (o *Outbox) Latest(to string) (Message, error) {
	var found *Message
	err := o.each(func(m Message) bool {
		if strings.EqualFold(m.To, to) {
			found = &m
		}
		return found == nil
	})
	if err != nil {
		return Message{}, err
	}
	if found == nil {
		return Message{}, fmt.Errorf("no mail to %s: %w", to, os.ErrNotExist)
	}
	return *found, nil
}

// VerificationLink returns the link in the newest message to the address
// that contains one with the given path (for example "/confirmUser"). The
// provider never calls it: it is for tests and tools (web/cmd/portal's
// end-to-end test opens the verification link with it).
func (o *Outbox) VerificationLink(to, path string) (string, error) {
	var link string
	err := o.each(func(m Message) bool {
		if !strings.EqualFold(m.To, to) {
			return true
		}
		for _, l := range m.Links() {
			if strings.Contains(l, path+"?") {
				link = l
				return false
			}
		}
		return true
	})
	if err != nil {
		return "", err
	}
	if link == "" {
		return "", fmt.Errorf("no link to %s in mail to %s: %w", path, to, os.ErrNotExist)
	}
	return link, nil
}
