package ring

import "testing"

// TestProbe: this kernel (6.18) has everything; Probe runs from any
// goroutine because it locks its own thread.
func TestProbe(t *testing.T) {
	f, err := Probe()
	if err != nil {
		t.Fatal(err)
	}
	want := Features{SingleIssuer: true, DeferTaskrun: true, CoopTaskrun: true,
		MultishotAccept: true, MultishotRecv: true, BufRing: true, MsgRing: true, Splice: true,
		SendZC: true}
	if f != want {
		t.Fatalf("Probe = %+v, want %+v", f, want)
	}
}
