/*
 * main.js - read the embedded model, keep the chosen points A and B, and
 * draw every section.  Any failure is shown on the page, not only in the
 * console.
 */
"use strict";
(function () {
	var listeners = [];
	HS.state = {from: 0, to: 0};
	HS.onRange = function (f) { listeners.push(f); };
	HS.setRange = function (a, b) {
		if (a === b) return;
		HS.state.from = a;
		HS.state.to = b;
		listeners.forEach(function (f) { f(); });
	};

	function section(id, f, D) {
		try {
			f(D, document.getElementById(id));
		} catch (e) {
			var box = document.getElementById("error");
			box.hidden = false;
			box.textContent += "Could not draw the " + id + " section: " + e + "\n";
			throw e;
		}
	}

	/* The stacks of the model as frame ids, allocation site first, from the
	 * tree the C side writes (stack_nodes: parent, frame pairs; each stack
	 * its allocation site's node). */
	function unfold(nodes, leaves) {
		return leaves.map(function (n) {
			var frames = [];
			for (; n >= 0; n = nodes[2 * n]) frames.push(nodes[2 * n + 1]);
			return frames;
		});
	}

	function main() {
		var D = JSON.parse(document.getElementById("heapsnap-data").textContent);
		D.stacks = unfold(D.stack_nodes, D.stacks);
		HS.data = D;
		HS.state.from = D.from;
		HS.state.to = D.to;
		section("summary", HS.drawSummary, D);
		section("timeline", function (D, box) { HS.drawChart(D, box); HS.drawRangeDiff(D, box); }, D);
		section("flame", HS.drawFlame, D);
		section("tables", HS.drawTables, D);
		section("leaks", HS.drawLeaks, D);
		section("cycles", HS.drawCycles, D);
		if (D.baseline) section("baseline", HS.drawBaseline, D);
		document.body.setAttribute("data-ready-ms", String(Math.round(performance.now())));
		document.body.setAttribute("data-ready", "1");
	}

	if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", main);
	else main();
})();
