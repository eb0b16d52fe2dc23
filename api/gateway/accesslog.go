package gateway

import (
	"io"
	"strconv"
	"strings"
	"sync"
)

// accessLog writes one JSON line per request in the seed's access log
// format. As in CloudWatch, every value is a string and a value that does
// not apply is "-".
type accessLog struct {
	mu sync.Mutex
	w  io.Writer
}

func newAccessLog(w io.Writer) *accessLog {
	if w == nil || w == io.Discard {
		return nil
	}
	return &accessLog{w: w}
}

type accessRecord struct {
	requestID        string
	sourceIP         string
	protocol         string
	method           string
	route            *route
	integrationError string
}

// write writes the record as one line of the seed's format, field for
// field: requestId, sourceIp, requestTime, protocol, httpMethod,
// resourcePath, routeKey, status, responseLength, integrationErrorMessage.
// It is encoded by hand, as the event is (appendString escapes as
// encoding/json does), since "portal api" writes it for every request.
func (l *accessLog) write(rec *accessRecord, cw *countingWriter, requestTime string) {
	if l == nil {
		return
	}
	routeKey, resourcePath := "-", "-"
	if rec.route != nil {
		routeKey = rec.route.Key
		_, resourcePath, _ = strings.Cut(routeKey, " ")
	}
	b := make([]byte, 0, 320+len(rec.integrationError))
	b = append(b, `{"requestId":`...)
	b = appendString(b, rec.requestID)
	b = append(b, `,"sourceIp":`...)
	b = appendString(b, rec.sourceIP)
	b = append(b, `,"requestTime":`...)
	b = appendString(b, requestTime)
	b = append(b, `,"protocol":`...)
	b = appendString(b, rec.protocol)
	b = append(b, `,"httpMethod":`...)
	b = appendString(b, rec.method)
	b = append(b, `,"resourcePath":`...)
	b = appendString(b, resourcePath)
	b = append(b, `,"routeKey":`...)
	b = appendString(b, routeKey)
	b = append(b, `,"status":"`...)
	b = strconv.AppendInt(b, int64(cw.status), 10)
	b = append(b, `","responseLength":"`...)
	b = strconv.AppendInt(b, int64(cw.n), 10)
	b = append(b, `","integrationErrorMessage":`...)
	b = appendString(b, dash(rec.integrationError))
	b = append(b, "}\n"...)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Write(b)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
