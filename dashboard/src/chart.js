// Charts, drawn by Chart.js (only the parts used, so the bundle stays small). Loaded after
// the numbers are on screen.
import { Chart, BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend } from 'chart.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend);

// Distinguishable, and dark enough against white (Okabe-Ito, with a grey for "others").
const COLORS = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#6a3d9a', '#8c6d31', '#6e7781'];

export function stackedBars(canvas, days, series) {
  return new Chart(canvas, {
    type: 'bar',
    data: {
      labels: days.map((d) => d.slice(5)),
      datasets: series.map((s, i) => ({ label: s.label, data: s.values, backgroundColor: COLORS[i % COLORS.length], borderWidth: 0 })),
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      responsive: true,
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { stacked: true, grid: { display: false }, ticks: { color: '#3d444d' } },
        y: { stacked: true, beginAtZero: true, ticks: { color: '#3d444d', callback: (v) => `$${v}` } },
      },
      plugins: {
        legend: { position: 'bottom', labels: { color: '#1b1f24', boxWidth: 12 } },
        tooltip: { callbacks: { label: (c) => `${c.dataset.label}: $${c.parsed.y.toFixed(4)}` } },
      },
    },
  });
}
