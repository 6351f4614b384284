/*
 * chart.js - memory over time: the live heap (every event, downsampled by
 * the C side to buckets that keep their minimum and maximum, so no peak is
 * lost) and the process's resident memory beside it, as mprof plots them.
 * Snapshots and the peak are marked.  Two points A and B (two snapshot
 * markers clicked, or a range dragged) choose what the diff views compare.
 */
"use strict";
(function () {
	var M = {left: 64, right: 16, top: 22, bottom: 28}, H = 300;

	/* Nice ticks for [0, max] bytes: steps of 1, 2, 5 x a power of 1024's
	 * unit, so labels read "256 MiB". */
	function byteTicks(max) {
		var unit = 1;
		while (max / unit >= 1024) unit *= 1024;
		var steps = [1, 2, 5, 10, 20, 50, 100, 200, 500], step = steps[steps.length - 1] * unit;
		for (var i = 0; i < steps.length; i++)
			if (max / (steps[i] * unit) <= 5) {
				step = steps[i] * unit;
				break;
			}
		var out = [0];
		while (out[out.length - 1] < max) out.push(out.length * step);
		return out;
	}

	function timeTicks(max) {
		var steps = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600];
		var step = steps[steps.length - 1];
		for (var i = 0; i < steps.length; i++)
			if (max / steps[i] <= 10) {
				step = steps[i];
				break;
			}
		var out = [];
		for (var v = 0; v <= max * 1.0001; v += step) out.push(+v.toFixed(6));
		return out;
	}

	/* Index of the last t[i] <= x in a sorted array (0 if none). */
	function bisect(t, x) {
		var lo = 0, hi = t.length - 1;
		if (hi < 0) return -1;
		while (lo < hi) {
			var mid = (lo + hi + 1) >> 1;
			if (t[mid] <= x) lo = mid;
			else hi = mid - 1;
		}
		return lo;
	}

	/* Points of a min/max band as an SVG polygon: max forwards, min back. */
	function band(t, lo, hi, X, Y, w) {
		var p = [];
		for (var i = 0; i < t.length; i++) {
			p.push(X(t[i]).toFixed(1) + "," + Y(hi[i]).toFixed(1));
			p.push(X(t[i] + w).toFixed(1) + "," + Y(hi[i]).toFixed(1));
		}
		for (i = t.length - 1; i >= 0; i--) {
			p.push(X(t[i] + w).toFixed(1) + "," + Y(lo[i]).toFixed(1));
			p.push(X(t[i]).toFixed(1) + "," + Y(lo[i]).toFixed(1));
		}
		return p.join(" ");
	}

	function steps(t, v, X, Y, w) {
		var p = [];
		for (var i = 0; i < t.length; i++) {
			p.push(X(t[i]).toFixed(1) + "," + Y(v[i]).toFixed(1));
			p.push(X(t[i] + w).toFixed(1) + "," + Y(v[i]).toFixed(1));
		}
		return p.join(" ");
	}

	HS.drawChart = function (D, box) {
		var S = D.series, tip = HS.el("div", {class: "tip", hidden: "hidden"});
		var svg = HS.svg("svg", {height: H, "data-chart": "timeline"});
		var wrap = HS.el("div", {class: "chart"}, [svg, tip]);
		var clicks = 0;
		box.appendChild(HS.el("div", {class: "legend"}, [
			HS.el("span", {}, [HS.el("i", {style: "background: var(--heap)"}), "live heap (each bucket's min to max)"]),
			S.rss_t && S.rss_t.length ? HS.el("span", {}, [HS.el("i", {style: "background: var(--rss)"}), "resident memory (RSS)"])
				: HS.el("span", {text: "no RSS samples in this trace (recorded by newer versions of the shim)", "data-field": "no-rss"}),
			HS.el("span", {class: "pointA", text: "A"}), HS.el("span", {class: "pointB", text: "B"}),
			HS.el("span", {text: "drag a range, or click two snapshot labels, to compare"})
		]));
		box.appendChild(wrap);

		function draw() {
			var W = Math.max(wrap.clientWidth, 320);
			HS.clear(svg);
			svg.setAttribute("width", W);
			svg.setAttribute("viewBox", "0 0 " + W + " " + H);
			var tmax = Math.max(D.summary.duration || 0, S.t.length ? S.t[S.t.length - 1] + S.bucket : 0,
				S.rss_t && S.rss_t.length ? S.rss_t[S.rss_t.length - 1] + S.rss_bucket : 0) || 1;
			var vmax = Math.max(1, D.summary.peak.bytes, Math.max.apply(null, (S.rss_max || []).concat([0])));
			var yt = byteTicks(vmax * 1.05), xt = timeTicks(tmax);
			vmax = yt[yt.length - 1] || vmax;
			var pw = W - M.left - M.right, ph = H - M.top - M.bottom;
			var X = function (t) { return M.left + Math.min(t, tmax) / tmax * pw; };
			var Y = function (v) { return M.top + ph - v / vmax * ph; };
			var axis = HS.svg("g", {class: "axis"}), grid = HS.svg("g", {class: "grid"});
			yt.forEach(function (v) {
				grid.appendChild(HS.svg("line", {x1: M.left, x2: W - M.right, y1: Y(v), y2: Y(v)}));
				axis.appendChild(HS.svg("text", {x: M.left - 6, y: Y(v) + 4, "text-anchor": "end", text: HS.bytes(v)}));
			});
			xt.forEach(function (t) {
				axis.appendChild(HS.svg("line", {x1: X(t), x2: X(t), y1: M.top + ph, y2: M.top + ph + 4}));
				axis.appendChild(HS.svg("text", {x: X(t), y: H - 8, "text-anchor": "middle", text: t + " s"}));
			});
			svg.appendChild(grid);
			svg.appendChild(axis);

			/* the selected range under the data */
			var a = D.points[HS.state.from], b = D.points[HS.state.to];
			if (a && b) {
				var xa = X(Math.min(a.time, b.time)), xb = X(Math.max(a.time, b.time));
				svg.appendChild(HS.svg("rect", {class: "sel-range", x: xa, y: M.top, width: Math.max(xb - xa, 0), height: ph}));
			}
			if (S.t.length) {
				svg.appendChild(HS.svg("polygon", {class: "heap-band", points: band(S.t, S.heap_min, S.heap_max, X, Y, S.bucket)}));
				svg.appendChild(HS.svg("polyline", {class: "heap-line", points: steps(S.t, S.heap_max, X, Y, S.bucket)}));
			}
			if (S.rss_t && S.rss_t.length)
				svg.appendChild(HS.svg("polyline", {class: "rss-line", points: steps(S.rss_t, S.rss_max, X, Y, S.rss_bucket)}));

			D.points.forEach(function (p, i) {
				if (p.kind !== "snapshot") return;
				var g = HS.svg("g", {class: "snap", "data-point": i});
				g.appendChild(HS.svg("line", {x1: X(p.time), x2: X(p.time), y1: M.top, y2: M.top + ph}));
				var label = HS.svg("text", {x: X(p.time) + 2, y: M.top - 6, text: p.label || "#" + p.index});
				label.appendChild(HS.svg("title", {text: HS.pointName(p) + ": click to choose it as " + (clicks % 2 ? "B" : "A")}));
				g.appendChild(label);
				g.addEventListener("click", function (ev) {
					ev.stopPropagation();
					if (clicks++ % 2 === 0) HS.setRange(i, HS.state.to);
					else HS.setRange(HS.state.from, i);
				});
				svg.appendChild(g);
			});
			var pk = D.summary.peak;
			svg.appendChild(HS.svg("g", {class: "peak"}, [
				HS.svg("circle", {cx: X(pk.time), cy: Y(pk.bytes), r: 4}),
				HS.svg("text", {x: X(pk.time) + (X(pk.time) > W - 140 ? -8 : 8), y: Math.max(Y(pk.bytes) - 6, M.top + 10),
					"text-anchor": X(pk.time) > W - 140 ? "end" : "start", text: "peak " + HS.bytes(pk.bytes)})
			]));
			[["from", "sel-a", "A"], ["to", "sel-b", "B"]].forEach(function (s) {
				var p = D.points[HS.state[s[0]]];
				if (!p) return;
				svg.appendChild(HS.svg("line", {class: s[1], x1: X(p.time), x2: X(p.time), y1: M.top, y2: M.top + ph}));
				svg.appendChild(HS.svg("text", {x: X(p.time) + 3, y: M.top + ph - 4, class: s[1], style: "stroke: none; fill: var(--" + s[2].toLowerCase() + ")", text: s[2]}));
			});

			/* interaction: hover for values, drag for a range */
			var drag = null, rect = null;
			function timeAt(ev) {
				var r = svg.getBoundingClientRect();
				var x = ev.clientX - r.left;
				return {x: x, t: Math.max(0, Math.min(tmax, (x - M.left) / pw * tmax))};
			}
			svg.onmousedown = function (ev) {
				if (ev.button !== 0) return;
				drag = timeAt(ev);
				rect = HS.svg("rect", {class: "drag", x: drag.x, y: M.top, width: 0, height: ph});
				svg.appendChild(rect);
			};
			svg.onmousemove = function (ev) {
				var p = timeAt(ev);
				if (drag) {
					rect.setAttribute("x", Math.min(p.x, drag.x));
					rect.setAttribute("width", Math.abs(p.x - drag.x));
				}
				var i = bisect(S.t, p.t), j = S.rss_t ? bisect(S.rss_t, p.t) : -1;
				var lines = [HS.secs(p.t)];
				if (i >= 0) lines.push("heap " + (S.heap_min[i] === S.heap_max[i] ? HS.bytes(S.heap_max[i])
					: HS.bytes(S.heap_min[i]) + " \u2013 " + HS.bytes(S.heap_max[i])));
				if (j >= 0) lines.push("RSS " + HS.bytes(S.rss_max[j]));
				tip.textContent = lines.join(" \u00b7 ");
				tip.hidden = false;
				tip.style.left = Math.min(p.x + 12, W - 260) + "px";
				tip.style.top = "4px";
			};
			svg.onmouseleave = function () {
				tip.hidden = true;
			};
			svg.onmouseup = function (ev) {
				if (!drag) return;
				var p = timeAt(ev), d = drag;
				drag = null;
				if (Math.abs(p.x - d.x) < 4) {
					draw();
					return;
				}
				var ia = HS.nearestPoint(D, Math.min(p.t, d.t)), ib = HS.nearestPoint(D, Math.max(p.t, d.t));
				if (ia === ib) draw();
				else HS.setRange(ia, ib);
			};
		}
		draw();
		HS.onRange(draw);
		HS.onResize(draw);
	};

	/* The point nearest to time t. */
	HS.nearestPoint = function (D, t) {
		var best = 0;
		D.points.forEach(function (p, i) {
			if (Math.abs(p.time - t) < Math.abs(D.points[best].time - t)) best = i;
		});
		return best;
	};
})();
