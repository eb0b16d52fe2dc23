package main

import (
	"net"
	"testing"
)

// TestOutboxOnlyOnLoopback is issue 13's point 6: the outbox page shows
// live reset codes, so `portal idp` on an address others can reach serves
// it only when told to explicitly.
func TestOutboxOnlyOnLoopback(t *testing.T) {
	tcp := func(ip string) net.Addr { return &net.TCPAddr{IP: net.ParseIP(ip), Port: 9229} }
	tests := []struct {
		name             string
		addr             net.Addr
		outbox, explicit bool
		want             bool
	}{
		{"loopback default", tcp("127.0.0.1"), true, false, true},
		{"loopback v6 default", tcp("::1"), true, false, true},
		{"loopback turned off", tcp("127.0.0.1"), false, true, false},
		{"all interfaces default", tcp("0.0.0.0"), true, false, false},
		{"all interfaces v6 default", tcp("::"), true, false, false},
		{"LAN address default", tcp("192.168.1.20"), true, false, false},
		{"v4-mapped loopback", tcp("::ffff:127.0.0.1"), true, false, true},
		{"LAN address, asked for", tcp("192.168.1.20"), true, true, true},
		{"LAN address, refused", tcp("192.168.1.20"), false, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := serveOutbox(tt.addr, tt.outbox, tt.explicit); got != tt.want {
				t.Errorf("serveOutbox(%v, outbox=%v, explicit=%v) = %v, want %v", tt.addr, tt.outbox, tt.explicit, got, tt.want)
			}
		})
	}
}
