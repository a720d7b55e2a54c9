// ECharts with only the parts the console draws (loaded lazily: it is the heaviest dependency).
import ReactEChartsCore from 'echarts-for-react/esm/core';
import * as echarts from 'echarts/core';
import { BarChart, LineChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import type { EChartsCoreOption } from 'echarts/core';

echarts.use([BarChart, LineChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

/** Whether the visitor asked the system for less motion (then charts appear without growing in). */
function reducedMotion(): boolean {
  return typeof window !== 'undefined' && window.matchMedia?.('(prefers-reduced-motion: reduce)').matches === true;
}

export default function Chart({ option, height = 300 }: { option: EChartsCoreOption; height?: number }) {
  const shown = reducedMotion() ? { ...option, animation: false } : option;
  return <ReactEChartsCore echarts={echarts} option={shown} notMerge style={{ height, width: '100%' }} />;
}
