package gateway

import (
	"bytes"
	"encoding/json"
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

// accessLine is the seed's format, field for field.
type accessLine struct {
	RequestID               string `json:"requestId"`
	SourceIP                string `json:"sourceIp"`
	RequestTime             string `json:"requestTime"`
	Protocol                string `json:"protocol"`
	HTTPMethod              string `json:"httpMethod"`
	ResourcePath            string `json:"resourcePath"`
	RouteKey                string `json:"routeKey"`
	Status                  string `json:"status"`
	ResponseLength          string `json:"responseLength"`
	IntegrationErrorMessage string `json:"integrationErrorMessage"`
}

func (l *accessLog) write(rec *accessRecord, cw *countingWriter, requestTime string) {
	if l == nil {
		return
	}
	line := accessLine{
		RequestID:               rec.requestID,
		SourceIP:                rec.sourceIP,
		RequestTime:             requestTime,
		Protocol:                rec.protocol,
		HTTPMethod:              rec.method,
		ResourcePath:            "-",
		RouteKey:                "-",
		Status:                  strconv.Itoa(cw.status),
		ResponseLength:          strconv.Itoa(cw.n),
		IntegrationErrorMessage: dash(rec.integrationError),
	}
	if rec.route != nil {
		line.RouteKey = rec.route.Key
		_, line.ResourcePath, _ = strings.Cut(rec.route.Key, " ")
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if enc.Encode(line) != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Write(b.Bytes())
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
