package verify

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strings"
	"time"
)

// The HTML page is self-contained: inline CSS and SVG, no scripts, fonts or
// images from elsewhere.

const (
	svgWidth   = 1100.0
	svgLeft    = 140.0
	svgRight   = 30.0
	laneHeight = 56.0
	svgTop     = 40.0
)

type svgRect struct {
	X, Y, W, H float64
	Fill       string
	Title      string
}

type svgMark struct {
	X, Y  float64
	Shape string // "tick", "vote", "promote", "demote", "rollback", "owner", "gap"
	Label string
	Title string
}

type svgLine struct {
	X, Y1, Y2 float64
	Label     string
	Title     string
}

type svgLane struct {
	Name       string
	Y          float64
	X1, X2     float64
	Owners     []svgRect
	Marks      []svgMark
	LabelY     float64
	OwnerLabel string
}

type svgAxisTick struct {
	X     float64
	Label string
}

type htmlPage struct {
	Title     string
	Generated string
	Report    *Report
	Width     float64
	Height    float64
	Lanes     []svgLane
	Splits    []svgLine
	Ticks     []svgAxisTick
	AxisY     float64
	ByTime    bool
	Errors    []*Finding
	Warnings  []*Finding
}

// WriteHTML writes the report as a self-contained HTML page: a timeline
// per instance (Raft terms and votes, queue owners, PROMOTE/DEMOTE,
// rollbacks) with the split points marked, then the vclock table and the
// findings.
func (r *Report) WriteHTML(w io.Writer) error {
	p := &htmlPage{Title: "xlogtool verify", Report: r, Width: svgWidth,
		Generated: time.Now().UTC().Format(time.RFC3339)}
	p.layout(r)
	for _, f := range r.Findings {
		if f.Severity == Error {
			p.Errors = append(p.Errors, f)
		} else {
			p.Warnings = append(p.Warnings, f)
		}
	}
	return pageTemplate.Execute(w, p)
}

// ownerColor gives every queue owner its own color; no owner is grey.
func ownerColor(id uint32) string {
	if id == 0 {
		return "#d8d8d8"
	}
	hue := (int(id)*137 + 200) % 360
	return fmt.Sprintf("hsl(%d, 60%%, 62%%)", hue)
}

// layout places the instances' events on a common axis: time when the
// rows carry timestamps, else the position in each log.
func (p *htmlPage) layout(r *Report) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, in := range r.Instances {
		for _, t := range []float64{in.FirstTime, in.LastTime} {
			if t > 0 {
				lo, hi = math.Min(lo, t), math.Max(hi, t)
			}
		}
		for _, e := range in.Timeline {
			if e.Time > 0 {
				lo, hi = math.Min(lo, e.Time), math.Max(hi, e.Time)
			}
		}
	}
	for _, s := range r.Splits {
		if s.Time > 0 {
			lo, hi = math.Min(lo, s.Time), math.Max(hi, s.Time)
		}
	}
	p.ByTime = !math.IsInf(lo, 1)
	if !p.ByTime {
		lo, hi = math.Inf(1), math.Inf(-1)
		for _, in := range r.Instances {
			for _, e := range in.Timeline {
				lo, hi = math.Min(lo, float64(e.Signature)), math.Max(hi, float64(e.Signature))
			}
		}
		if math.IsInf(lo, 1) {
			lo, hi = 0, 1
		}
	}
	if hi <= lo {
		hi = lo + 1
	}
	span := svgWidth - svgLeft - svgRight
	x := func(v float64) float64 { return svgLeft + (v-lo)/(hi-lo)*span }
	pos := func(e Event, in *InstanceSummary) float64 {
		if !p.ByTime {
			return x(float64(e.Signature))
		}
		if e.Time > 0 {
			return x(e.Time)
		}
		if e.Kind == EventEnd && in.LastTime > 0 {
			return x(in.LastTime)
		}
		if in.FirstTime > 0 {
			return x(in.FirstTime)
		}
		return svgLeft
	}
	laneY := map[string]float64{}
	for i, in := range r.Instances {
		y := svgTop + float64(i)*laneHeight
		laneY[in.Name] = y
		lane := svgLane{Name: in.Name, Y: y, LabelY: y + 18, X1: svgLeft, X2: svgLeft + span}
		if in.ReplicaID != 0 {
			lane.Name = fmt.Sprintf("%s (id %d)", in.Name, in.ReplicaID)
		}
		evs := append([]Event(nil), in.Timeline...)
		sort.SliceStable(evs, func(a, b int) bool { return pos(evs[a], in) < pos(evs[b], in) })
		if len(evs) > 0 {
			lane.X1, lane.X2 = pos(evs[0], in), pos(evs[len(evs)-1], in)
		}
		for j, e := range evs {
			x1 := pos(e, in)
			x2 := lane.X2
			if j+1 < len(evs) {
				x2 = pos(evs[j+1], in)
			}
			if x2 > x1 {
				lane.Owners = append(lane.Owners, svgRect{X: x1, Y: y + 8, W: x2 - x1, H: 14, Fill: ownerColor(e.Owner),
					Title: fmt.Sprintf("queue owner: replica %d, queue term %d", e.Owner, e.Term)})
			}
			m := svgMark{X: x1, Y: y + 32, Title: e.Text}
			switch e.Kind {
			case EventRaftTerm:
				m.Shape, m.Label = "tick", fmt.Sprintf("t%d", e.Term)
			case EventVote:
				m.Shape, m.Label = "vote", fmt.Sprintf("v%d", e.ReplicaID)
			case EventPromote:
				m.Shape, m.Label = "promote", fmt.Sprintf("P%d", e.ReplicaID)
			case EventDemote:
				m.Shape, m.Label = "demote", fmt.Sprintf("D%d", e.ReplicaID)
			case EventOwner, EventClear:
				m.Shape, m.Label = "owner", fmt.Sprintf("→%d", e.ReplicaID)
			case EventRollback:
				m.Shape, m.Label = "rollback", "RB"
			case EventGap:
				m.Shape, m.Label = "gap", "gap"
			default:
				continue
			}
			lane.Marks = append(lane.Marks, m)
		}
		p.Lanes = append(p.Lanes, lane)
	}
	p.AxisY = svgTop + float64(len(r.Instances))*laneHeight + 4
	p.Height = p.AxisY + 40
	for _, s := range r.Splits {
		y, ok := laneY[s.Instance]
		if !ok {
			continue
		}
		sx := svgLeft
		if p.ByTime && s.Time > 0 {
			sx = x(s.Time)
		}
		p.Splits = append(p.Splits, svgLine{X: sx, Y1: y + 2, Y2: y + laneHeight - 8,
			Label: fmt.Sprintf("split point %d:%d", s.ReplicaID, s.LSN), Title: s.Text})
	}
	for i := 0; i <= 4; i++ {
		v := lo + (hi-lo)*float64(i)/4
		label := fmt.Sprintf("%.0f", v)
		if p.ByTime {
			label = time.Unix(0, int64(v*1e9)).UTC().Format("2006-01-02 15:04:05.000")
		}
		p.Ticks = append(p.Ticks, svgAxisTick{X: x(v), Label: label})
	}
}

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"join": strings.Join,
	"f1":   func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"add":  func(a, b float64) float64 { return a + b },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
table { border-collapse: collapse; margin: 8px 0; }
td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: left; font-variant-numeric: tabular-nums; }
th { background: #f3f3f3; }
.error { color: #a00; } .warning { color: #a60; }
.finding { margin: 10px 0; padding: 6px 10px; border-left: 4px solid #ccc; background: #fafafa; }
.finding.error { border-color: #c00; } .finding.warning { border-color: #e90; }
.finding .msg { color: #222; }
pre { white-space: pre-wrap; word-break: break-all; font-size: 12px; margin: 4px 0; }
svg text { font: 11px system-ui, sans-serif; }
.lane-name { font-weight: bold; font-size: 12px; }
.split line { stroke: #d00; stroke-width: 2; stroke-dasharray: 4 2; }
.split text { fill: #d00; font-weight: bold; }
.legend span { display: inline-block; margin-right: 14px; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p>{{len .Report.Instances}} instance(s); <span class="error">{{.Report.Counts.Errors}} error(s)</span>, <span class="warning">{{.Report.Counts.Warnings}} warning(s)</span>. Generated {{.Generated}}.</p>

<h2>Timeline</h2>
<p class="legend"><span>bars: synchronous queue owner (grey: none)</span><span>t<i>N</i>: Raft term</span><span>v<i>N</i>: vote</span><span>P<i>N</i> / D<i>N</i>: PROMOTE / DEMOTE by replica N</span><span>→<i>N</i>: queue taken by replica N</span><span>RB: rollback</span><span class="error">dashed red: split point</span></p>
<svg width="{{f1 .Width}}" height="{{f1 .Height}}" viewBox="0 0 {{f1 .Width}} {{f1 .Height}}">
{{range .Lanes}}<g class="lane">
<text class="lane-name" x="8" y="{{f1 .LabelY}}">{{.Name}}</text>
<line x1="{{f1 .X1}}" y1="{{f1 (add .Y 15)}}" x2="{{f1 .X2}}" y2="{{f1 (add .Y 15)}}" stroke="#999"/>
{{range .Owners}}<rect x="{{f1 .X}}" y="{{f1 .Y}}" width="{{f1 .W}}" height="{{f1 .H}}" fill="{{.Fill}}"><title>{{.Title}}</title></rect>
{{end}}{{range .Marks}}<g><title>{{.Title}}</title>{{if eq .Shape "rollback"}}<text x="{{f1 .X}}" y="{{f1 .Y}}" fill="#c00" text-anchor="middle">{{.Label}}</text>{{else if eq .Shape "promote"}}<path d="M{{f1 .X}} {{f1 (add .Y -14)}} l5 8 h-10 z" fill="#246"/><text x="{{f1 .X}}" y="{{f1 (add .Y 6)}}" text-anchor="middle">{{.Label}}</text>{{else if eq .Shape "demote"}}<path d="M{{f1 .X}} {{f1 (add .Y -6)}} l5 -8 h-10 z" fill="#642"/><text x="{{f1 .X}}" y="{{f1 (add .Y 6)}}" text-anchor="middle">{{.Label}}</text>{{else if eq .Shape "vote"}}<circle cx="{{f1 .X}}" cy="{{f1 (add .Y -10)}}" r="3" fill="#080"/><text x="{{f1 .X}}" y="{{f1 (add .Y 6)}}" text-anchor="middle">{{.Label}}</text>{{else}}<line x1="{{f1 .X}}" y1="{{f1 (add .Y -16)}}" x2="{{f1 .X}}" y2="{{f1 (add .Y -4)}}" stroke="#333"/><text x="{{f1 .X}}" y="{{f1 (add .Y 6)}}" text-anchor="middle">{{.Label}}</text>{{end}}</g>
{{end}}</g>
{{end}}{{range .Splits}}<g class="split"><title>{{.Title}}</title><line x1="{{f1 .X}}" y1="{{f1 .Y1}}" x2="{{f1 .X}}" y2="{{f1 .Y2}}"/><text x="{{f1 (add .X 4)}}" y="{{f1 (add .Y1 8)}}">{{.Label}}</text></g>
{{end}}<line x1="{{f1 (index .Ticks 0).X}}" y1="{{f1 .AxisY}}" x2="{{f1 (index .Ticks 4).X}}" y2="{{f1 .AxisY}}" stroke="#666"/>
{{$y := .AxisY}}{{range .Ticks}}<line x1="{{f1 .X}}" y1="{{f1 $y}}" x2="{{f1 .X}}" y2="{{f1 (add $y 5)}}" stroke="#666"/><text x="{{f1 .X}}" y="{{f1 (add $y 18)}}" text-anchor="middle">{{.Label}}</text>
{{end}}</svg>
<p>{{if .ByTime}}Horizontal axis: row timestamps (each instance's own clock, UTC).{{else}}Horizontal axis: position in each log (vclock signature).{{end}}</p>
{{with .Report.Splits}}<h2>Split points</h2>
<table><tr><th>instance</th><th>row</th><th>what</th></tr>
{{range .}}<tr><td>{{.Instance}}</td><td>{{.ReplicaID}}:{{.LSN}}</td><td>{{.Text}}</td></tr>
{{end}}</table>{{end}}

<h2>Instances</h2>
<table><tr><th>name</th><th>replica id</th><th>uuid</th><th>replica set</th><th>files</th><th>rows</th><th>first vclock</th><th>last vclock</th><th>sync confirmed / rolled back / pending</th><th>queue owner / term</th><th>raft term / vote</th></tr>
{{range .Report.Instances}}<tr><td>{{.Name}}</td><td>{{.ReplicaID}}</td><td>{{.UUID}}</td><td>{{.ReplicasetUUID}}</td><td>{{.Files}}</td><td>{{.Rows}}</td><td>{{.FirstVClock}}</td><td>{{.VClock}}</td><td>{{.Sync.Confirmed}} / {{.Sync.RolledBack}} / {{.Sync.Pending}}</td><td>{{.Queue.Owner}} / {{.Queue.Term}}</td><td>{{.Raft.Term}} / {{.Raft.Vote}}</td></tr>
{{end}}</table>
{{if gt (len .Report.Replicasets) 1}}<h2>Replica sets</h2>
<table><tr><th>set</th><th>uuid</th><th>instances</th><th>assumed</th></tr>
{{range $i, $rs := .Report.Replicasets}}<tr><td>{{$i}}</td><td>{{$rs.UUID}}</td><td>{{join $rs.Instances ", "}}</td><td>{{$rs.Assumed}}</td></tr>
{{end}}</table>{{end}}
{{with .Report.Table}}<h2>Vclocks</h2>
<table><tr><th>set</th><th>replica</th><th>max</th><th>ahead</th><th>behind</th></tr>
{{range .}}<tr><td>{{.Replicaset}}</td><td>{{.ReplicaID}}{{with .Origin}} ({{.}}){{end}}</td><td>{{.Max}}</td><td>{{join .Ahead ", "}}</td><td>{{range $n, $d := .Behind}}{{$n}} by {{$d}}; {{end}}</td></tr>
{{end}}</table>{{end}}

<h2>Findings</h2>
{{range .Errors}}{{template "finding" .}}{{end}}{{range .Warnings}}{{template "finding" .}}{{end}}
{{if not (or .Errors .Warnings)}}<p>No findings.</p>{{end}}
</body>
</html>
{{define "finding"}}<div class="finding {{.Severity}}"><b class="{{.Severity}}">{{.Severity}} {{.Kind}}</b> {{if .Instance}}{{.Instance}}{{else}}{{join .Instances ", "}}{{end}}{{if .File}} — {{.File}}{{if ge .Offset 0}} @{{.Offset}}{{end}}{{end}}{{if ge .ReplicaID 0}}{{if .LSNTo}} — {{.ReplicaID}}:{{.LSNFrom}}-{{.LSNTo}}{{end}}{{end}}{{if .Term}} — term {{.Term}}{{end}}
<div class="msg">{{.Message}}</div>
{{range .Sides}}<div>side {{.ReplicaID}}:{{.LSNFrom}}-{{.LSNTo}}: {{.What}} on {{join .Instances ", "}}</div>{{end}}
{{range .Evidence}}<pre>{{.Instance}}{{with .Note}} ({{.}}){{end}}: {{printf "%s" .Row}}</pre>{{end}}</div>
{{end}}`))
