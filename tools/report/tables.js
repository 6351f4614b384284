/*
 * tables.js - the statistics as sortable tables: live memory by line,
 * function, file or module at a point (the numbers of `heapsnap top`) and
 * its change since another (`heapsnap diff`), the sites that grow across the
 * snapshots, with a sparkline (`top --growth`), the most allocating sites
 * and the most temporary ones (`top --temporary`), and the cross-run diff
 * against a baseline.
 */
"use strict";
(function () {
	var LIMIT = 200, RANGE_ROWS = 15;

	function keyCol() {
		return {title: "site", type: "str", cls: "key", get: function (r) { return r.key; }};
	}

	function num(title, f, show) {
		return {title: title, type: "num", get: f, show: show};
	}

	function diffCell(v, bytes) {
		return HS.el("span", {class: v > 0 ? "up" : v < 0 ? "down" : "", text: bytes ? HS.signed(v) + " B" : HS.signed(v)});
	}

	/* The table of one grouping at point p, compared with point q (or -1). */
	function topTable(D, by, p, q) {
		var T = D.tables[by];
		if (!T) return HS.el("p", {class: "note", text: "No statistics."});
		var rows = [];
		T.keys.forEach(function (k, i) {
			var r = {key: k, size: T.size[i][p], count: T.count[i][p]};
			if (q >= 0) {
				r.size_diff = r.size - T.size[i][q];
				r.count_diff = r.count - T.count[i][q];
			}
			if (r.size || r.count || r.size_diff || r.count_diff) rows.push(r);
		});
		var cols = [keyCol(),
			num("size", function (r) { return r.size; }, function (r) { return HS.int(r.size) + " B"; }),
			num("count", function (r) { return r.count; }),
			num("average", function (r) { return r.count ? Math.floor(r.size / r.count) : 0; },
				function (r) { return HS.int(r.count ? Math.floor(r.size / r.count) : 0) + " B"; })];
		if (q >= 0)
			cols.push(num("size change", function (r) { return r.size_diff; }, function (r) { return diffCell(r.size_diff, true); }),
				num("count change", function (r) { return r.count_diff; }, function (r) { return diffCell(r.count_diff); }));
		var t = HS.table(cols, rows, {col: 1, desc: true}, LIMIT);
		t.setAttribute("data-table", "top-" + by);
		var total = HS.el("p", {class: "note"}, ["Total at " + HS.pointName(D.points[p]) + ": ",
			HS.el("span", {"data-field": "top.total.size", text: HS.int(D.total.size[p]) + " B"}), " in ",
			HS.el("span", {"data-field": "top.total.count", text: HS.int(D.total.count[p])}), " blocks",
			q >= 0 ? " (" + HS.signed(D.total.size[p] - D.total.size[q]) + " B, " +
				HS.signed(D.total.count[p] - D.total.count[q]) + " blocks since " + HS.pointName(D.points[q]) + ")" : "",
			rows.length > LIMIT ? "; the " + LIMIT + " largest shown" : "", "."]);
		return HS.el("div", {}, [total, t]);
	}

	HS.drawTables = function (D, box) {
		var by = "lineno", p = D.to, q = D.from, out = HS.el("div");
		var groupings = Object.keys(D.tables);
		var pSel = HS.pointSelect(D, p, function (i) { p = i; fill(); });
		var qSel = HS.el("select", {onchange: function () { q = +qSel.value; fill(); }},
			[HS.el("option", {value: -1, text: "nothing"})].concat(D.points.map(function (pt, i) {
				return HS.el("option", {value: i, text: HS.pointName(pt)});
			})));
		qSel.value = q;
		box.appendChild(HS.el("div", {class: "controls"}, [
			HS.el("label", {text: "Live memory by"}), HS.tabs(groupings, by, function (n) { by = n; fill(); }),
			HS.el("label", {text: "at"}), pSel, HS.el("label", {text: "compared with"}), qSel]));
		box.appendChild(HS.el("p", {class: "note", text: "As heapsnap top and heapsnap diff compute them; the sites listed are the largest at each point and the largest changes between A and B."}));
		box.appendChild(out);
		function fill() {
			HS.clear(out).appendChild(topTable(D, by, p, q));
		}
		fill();
		HS.onRange(function () {
			p = HS.state.to;
			q = HS.state.from;
			pSel.value = p;
			qSel.value = q;
			fill();
		});

		var two = HS.el("div", {class: "grid2"});
		box.appendChild(two);
		two.appendChild(growthBox(D));
		two.appendChild(costBox(D, "allocating", "Most allocating sites", "allocations", "bytes allocated",
			"Every allocation of the run, by site."));
		two.appendChild(costBox(D, "temporary", "Most temporary allocations", "temporary", "bytes",
			"A temporary block is freed before its thread allocates again (heaptrack's measure): churn that costs time, not memory."));
	};

	function growthBox(D) {
		var G = D.growth, div = HS.el("div", {}, [HS.el("h3", {text: "Growing across the snapshots"})]);
		if (!G || G.points.length < 3) {
			div.appendChild(HS.el("p", {class: "note", text: "Needs 3 or more snapshots (the exit one does not count); this trace has " + (G ? G.points.length : 0) + "."}));
			return div;
		}
		if (!G.lines.length) {
			div.appendChild(HS.el("p", {class: "note", text: "No site grew across the " + G.points.length + " snapshots."}));
			return div;
		}
		var n = G.points.length;
		var t = HS.table([keyCol(),
			num("size", function (r) { return r.sizes[n - 1]; }, function (r) { return HS.int(r.sizes[n - 1]) + " B"; }),
			num("growth", function (r) { return r.sizes[n - 1] - r.sizes[0]; }, function (r) { return HS.signed(r.sizes[n - 1] - r.sizes[0]) + " B"; }),
			num("per snapshot", function (r) { return (r.sizes[n - 1] - r.sizes[0]) / (n - 1); },
				function (r) { return HS.signed(Math.round((r.sizes[n - 1] - r.sizes[0]) / (n - 1))) + " B"; }),
			{title: "over " + n + " snapshots", type: "num", get: function (r) { return r.sizes[n - 1] - r.sizes[0]; },
				show: function (r) { return HS.sparkline(r.sizes); }}
		], G.lines, {col: 2, desc: true}, LIMIT);
		t.setAttribute("data-table", "growth");
		div.appendChild(t);
		return div;
	}

	function costBox(D, name, title, countName, sizeName, note) {
		var C = D[name], div = HS.el("div", {}, [HS.el("h3", {text: title}), HS.el("p", {class: "note", text: note})]);
		div.appendChild(HS.el("p", {class: "note"}, ["Total: ", HS.el("span", {"data-field": name + ".total", text: HS.int(C.total)}), " " + countName + "."]));
		if (!C.lines.length)
			return div;
		var t = HS.table([keyCol(),
			num(countName, function (r) { return r.count; }),
			num(sizeName, function (r) { return r.size; }, function (r) { return HS.int(r.size) + " B"; })
		], C.lines, {col: 1, desc: true}, LIMIT);
		t.setAttribute("data-table", name);
		div.appendChild(t);
		return div;
	}

	HS.drawBaseline = function (D, box) {
		var B = D.baseline;
		box.hidden = false;
		document.getElementById("nav-baseline").hidden = false;
		box.appendChild(HS.el("p", {}, ["Live memory at ", HS.el("code", {text: B.old}), " (" + B.from + ") compared with this run (" + B.to +
			"), sites matched by their symbolized frames, as heapsnap diff OLD NEW matches them: ",
			HS.el("span", {"data-field": "baseline.total.size_diff", text: HS.signed(B.total.size_diff) + " B"}), ", ",
			HS.signed(B.total.count_diff) + " blocks."]));
		var t = HS.table([keyCol(),
			num("size", function (r) { return r.size; }, function (r) { return HS.int(r.size) + " B"; }),
			num("size change", function (r) { return Math.abs(r.size_diff); }, function (r) { return diffCell(r.size_diff, true); }),
			num("count", function (r) { return r.count; }),
			num("count change", function (r) { return r.count_diff; }, function (r) { return diffCell(r.count_diff); })
		], B.lines, {col: 2, desc: true}, LIMIT);
		t.setAttribute("data-table", "baseline");
		box.appendChild(t);
	};

	/* Under the chart: what changed between A and B, by line. */
	HS.drawRangeDiff = function (D, box) {
		var out = HS.el("div");
		box.appendChild(out);
		function fill() {
			var a = HS.state.from, b = HS.state.to, T = D.tables.lineno;
			HS.clear(out);
			if (a === undefined || b === undefined || !T) return;
			var rows = [];
			T.keys.forEach(function (k, i) {
				var d = T.size[i][b] - T.size[i][a];
				if (d || T.count[i][b] - T.count[i][a])
					rows.push({key: k, size: T.size[i][b], size_diff: d, count_diff: T.count[i][b] - T.count[i][a]});
			});
			out.appendChild(HS.el("h3", {}, ["From ", HS.el("span", {class: "pointA", text: "A"}), " " + HS.pointName(D.points[a]) + " to ",
				HS.el("span", {class: "pointB", text: "B"}), " " + HS.pointName(D.points[b]) + ": live heap " +
				HS.signed(D.total.size[b] - D.total.size[a]) + " B, " + HS.signed(D.total.count[b] - D.total.count[a]) + " blocks"]));
			if (!rows.length) {
				out.appendChild(HS.el("p", {class: "note", text: "No site changed."}));
				return;
			}
			var t = HS.table([keyCol(),
				num("size at B", function (r) { return r.size; }, function (r) { return HS.int(r.size) + " B"; }),
				num("size change", function (r) { return Math.abs(r.size_diff); }, function (r) { return diffCell(r.size_diff, true); }),
				num("count change", function (r) { return r.count_diff; }, function (r) { return diffCell(r.count_diff); })
			], rows, {col: 2, desc: true}, RANGE_ROWS);
			t.setAttribute("data-table", "range-diff");
			out.appendChild(t);
			/* what the rows listed leave out, so that the table adds up to
			 * the change of the whole heap: the smaller changes, and the
			 * sites the report did not keep (the largest at each point
			 * and the largest changes from the A and B it was written with) */
			var listed = rows.slice().sort(function (x, y) {
				return Math.abs(y.size_diff) - Math.abs(x.size_diff) || (x.key < y.key ? -1 : x.key > y.key ? 1 : 0);
			}).slice(0, RANGE_ROWS);
			var ds = D.total.size[b] - D.total.size[a], dc = D.total.count[b] - D.total.count[a];
			listed.forEach(function (r) { ds -= r.size_diff; dc -= r.count_diff; });
			if (ds || dc || rows.length > RANGE_ROWS)
				out.appendChild(HS.el("p", {class: "note", "data-field": "range-diff.rest"}, [
					(rows.length > RANGE_ROWS ? "The " + RANGE_ROWS + " largest changes of " + rows.length + " listed; " : "") + "every other site: ",
					HS.el("span", {"data-field": "range-diff.rest.size", text: HS.signed(ds) + " B"}), ", ",
					HS.el("span", {"data-field": "range-diff.rest.count", text: HS.signed(dc)}),
					" blocks (the Top section below lists more, and heapsnap diff every one)."]));
		}
		fill();
		HS.onRange(fill);
	};
})();
