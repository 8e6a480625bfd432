// The NVIDIA DCGM exporter as tests stand it in: its exposition text (labels in its order, HELP/TYPE lines, an
// unallocated GPU with empty pod labels) and the two ways a Prometheus scrapes it — honor_labels on (the exporter's
// own pod labels kept) and off behind ServiceMonitor-style target labels (Prometheus renames the exporter's pod
// labels exported_*).

/** One GPU as the exporter shows it. */
export type DcgmGpu = { gpu: number; util: number; namespace?: string; pod?: string };

export function dcgmExposition(hostname: string, gpus: DcgmGpu[], modelName = "NVIDIA A100-SXM4-80GB"): string {
  const line = (g: DcgmGpu) => `DCGM_FI_DEV_GPU_UTIL{gpu="${g.gpu}",UUID="GPU-${hostname}-0000-${g.gpu}",pci_bus_id="00000000:0${g.gpu}:00.0",device="nvidia${g.gpu}",modelName="${modelName}",Hostname="${hostname}",DCGM_FI_DRIVER_VERSION="550.54.15",container="${g.pod ? "main" : ""}",namespace="${g.namespace ?? ""}",pod="${g.pod ?? ""}"} ${g.util}`;
  return [
    "# HELP DCGM_FI_DEV_SM_CLOCK SM clock frequency (in MHz).",
    "# TYPE DCGM_FI_DEV_SM_CLOCK gauge",
    ...gpus.map((g) => line(g).replace("DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_SM_CLOCK").replace(/ \d+$/, " 1410")),
    "# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).",
    "# TYPE DCGM_FI_DEV_GPU_UTIL gauge",
    ...gpus.map(line),
    "",
  ].join("\n");
}

/**
 * Scrape jobs (prometheus.yml lines) for two exporters served at `target`: /node-a/metrics with honor_labels, and
 * /node-b/metrics without, its target labelled as the exporter pod `exporterPod` on gpu-node-b.
 */
export function dcgmScrapeJobs(target: string, exporterPod: string): string[] {
  return [
    "  - job_name: dcgm-exporter-honor",
    "    honor_labels: true",
    "    metrics_path: /node-a/metrics",
    `    static_configs: [{targets: ["${target}"]}]`,
    "  - job_name: dcgm-exporter",
    "    metrics_path: /node-b/metrics",
    `    static_configs: [{targets: ["${target}"], labels: {namespace: gpu-operator, pod: ${exporterPod}, container: nvidia-dcgm-exporter, node: gpu-node-b}}]`,
  ];
}
