package controller

import "github.com/twmb/franz-go/pkg/kerr"

func kerrName(code int16) string {
	if e := kerr.ErrorForCode(code); e != nil {
		return e.(*kerr.Error).Message
	}
	return "NONE"
}
