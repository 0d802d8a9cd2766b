package metadata

import "testing"

func TestImage(t *testing.T) {
	im := New("c", 1, 2, []Broker{{NodeID: 2}, {NodeID: 1}}, []Topic{{Name: "b", ID: [16]byte{2}}, {Name: "a", ID: [16]byte{1}}})
	if im.NodeID != 1 || im.ControllerID != 2 || im.ClusterID != "c" {
		t.Errorf("identity %+v", im)
	}
	if b := im.Brokers(); len(b) != 2 || b[0].NodeID != 1 || b[1].NodeID != 2 {
		t.Errorf("brokers %+v", b)
	}
	if ts := im.Topics(); len(ts) != 2 || ts[0].Name != "a" {
		t.Errorf("topics %+v", ts)
	}
	if tp, ok := im.TopicByID([16]byte{2}); !ok || tp.Name != "b" {
		t.Errorf("by id: %+v %v", tp, ok)
	}
	if _, ok := im.Topic("zz"); ok {
		t.Errorf("found unknown topic")
	}
}

func TestImageDuplicatesPanic(t *testing.T) {
	for name, f := range map[string]func(){
		"broker": func() { New("c", 1, 1, []Broker{{NodeID: 1}, {NodeID: 1}}, nil) },
		"topic":  func() { New("c", 1, 1, nil, []Topic{{Name: "a"}, {Name: "a"}}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
