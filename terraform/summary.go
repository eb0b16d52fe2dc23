package terraform

import (
	"fmt"
	"io"
	"sort"
	"strings"

	tfjson "github.com/hashicorp/terraform-json"
)

// Action is what a plan does to one resource, in the words of Terraform's
// own plan line ("3 to add, 1 to change, 0 to destroy").
type Action string

// The actions a summary reports. Reads of data sources and no-ops are left
// out: they change nothing.
const (
	Add     Action = "add"
	Change  Action = "change"
	Replace Action = "replace"
	Destroy Action = "destroy"
	Forget  Action = "forget" // removed from the state, left in AWS
)

// actionOrder is the order in which a summary lists actions.
var actionOrder = []Action{Add, Change, Replace, Destroy, Forget}

// ResourceChange is one managed resource a plan touches.
type ResourceChange struct {
	Action  Action
	Type    string // aws_lambda_function
	Address string // aws_lambda_function.function["get_user"]
}

// Summary is the short, human view of a plan: what is added, changed,
// replaced or destroyed, by resource type.
type Summary struct {
	// Changes lists every change, sorted by action then address.
	Changes []ResourceChange
	// Outputs lists the names of the outputs the plan creates, updates or
	// deletes, sorted.
	Outputs []string
	// Unchanged counts the managed resources that exist and stay as they
	// are. With any, the stack exists already and the summary names what
	// the plan adds to it.
	Unchanged int
}

// Summarize reduces a plan to its Summary.
func Summarize(p *tfjson.Plan) Summary {
	var s Summary
	if p == nil {
		return s
	}
	for _, rc := range p.ResourceChanges {
		if rc == nil || rc.Change == nil || rc.Mode != tfjson.ManagedResourceMode {
			continue
		}
		a, ok := action(rc.Change.Actions)
		if !ok {
			if rc.Change.Actions.NoOp() {
				s.Unchanged++
			}
			continue
		}
		s.Changes = append(s.Changes, ResourceChange{Action: a, Type: rc.Type, Address: rc.Address})
	}
	rank := map[Action]int{}
	for i, a := range actionOrder {
		rank[a] = i
	}
	sort.Slice(s.Changes, func(i, j int) bool {
		a, b := s.Changes[i], s.Changes[j]
		if a.Action != b.Action {
			return rank[a.Action] < rank[b.Action]
		}
		return a.Address < b.Address
	})
	for name, oc := range p.OutputChanges {
		if oc != nil && !oc.Actions.NoOp() && !oc.Actions.Read() {
			s.Outputs = append(s.Outputs, name)
		}
	}
	sort.Strings(s.Outputs)
	return s
}

// action maps Terraform's action list to one Action; ok is false for
// changes that change nothing.
func action(as tfjson.Actions) (a Action, ok bool) {
	switch {
	case as.Replace():
		return Replace, true
	case as.Create():
		return Add, true
	case as.Update():
		return Change, true
	case as.Delete():
		return Destroy, true
	case as.Forget():
		return Forget, true
	}
	return "", false
}

// Empty reports whether the plan changes no resource.
func (s Summary) Empty() bool { return len(s.Changes) == 0 }

// Count returns how many resources the plan subjects to a.
func (s Summary) Count(a Action) int {
	n := 0
	for _, c := range s.Changes {
		if c.Action == a {
			n++
		}
	}
	return n
}

// ByType counts, for action a, the resources of each type.
func (s Summary) ByType(a Action) map[string]int {
	m := map[string]int{}
	for _, c := range s.Changes {
		if c.Action == a {
			m[c.Type]++
		}
	}
	return m
}

// Write prints the summary: the totals in Terraform's own words, then each
// action's resource types with counts. Every action but addition names its
// resources, since those are the lines a reviewer must read. Additions are
// named too when the stack exists already (an upgrade, such as the one that
// adds the portal: the reviewer sees what arrives); a first deploy, where
// everything is new, only counts them.
func (s Summary) Write(w io.Writer) error {
	var b strings.Builder
	if s.Empty() {
		b.WriteString("No changes.\n")
	} else {
		fmt.Fprintf(&b, "Plan: %d to add, %d to change, %d to replace, %d to destroy", s.Count(Add), s.Count(Change), s.Count(Replace), s.Count(Destroy))
		if n := s.Count(Forget); n > 0 {
			fmt.Fprintf(&b, ", %d to forget", n)
		}
		b.WriteString(".\n")
	}
	for _, a := range actionOrder {
		types := s.ByType(a)
		if len(types) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s:\n", a)
		names := make([]string, 0, len(types))
		width := 0
		for t := range types {
			names = append(names, t)
			width = max(width, len(t))
		}
		sort.Strings(names)
		for _, t := range names {
			fmt.Fprintf(&b, "  %-*s %3d\n", width, t, types[t])
			if a == Add && !s.upgrade() {
				continue
			}
			for _, c := range s.Changes {
				if c.Action == a && c.Type == t {
					fmt.Fprintf(&b, "      %s\n", c.Address)
				}
			}
		}
	}
	if len(s.Outputs) > 0 {
		fmt.Fprintf(&b, "\noutputs changing: %s\n", strings.Join(s.Outputs, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// upgrade reports whether the plan changes a stack that exists: some of its
// resources stay, change or go.
func (s Summary) upgrade() bool {
	return s.Unchanged > 0 || len(s.Changes) > s.Count(Add)
}

// String returns the text Write prints.
func (s Summary) String() string {
	var b strings.Builder
	_ = s.Write(&b) // a strings.Builder never fails
	return b.String()
}
