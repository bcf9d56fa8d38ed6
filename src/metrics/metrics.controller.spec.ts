import { Test } from '@nestjs/testing';
import { WsMetrics } from '@app/ws';
import { MetricsController } from './metrics.controller';
import { MetricsModule } from './metrics.module';

describe(MetricsController.name, () => {
  it('gives each app in a process its own metrics, next to the process metrics', async () => {
    // Two replicas in one process: the default global registry would throw on the second.
    const apps = await Promise.all(
      [0, 1].map(() =>
        Test.createTestingModule({ imports: [MetricsModule], providers: [WsMetrics] }).compile(),
      ),
    );
    apps[0]!.get(WsMetrics).frameIn('chat.send').inc(2);

    const texts = await Promise.all(apps.map((app) => app.get(MetricsController).metrics()));
    expect(texts[0]).toContain('realtime_ws_frames_in_total{event="chat.send"} 2');
    expect(texts[1]).not.toContain('event="chat.send"');
    for (const text of texts) {
      expect(text.match(/^# TYPE process_cpu_user_seconds_total /gm)).toHaveLength(1);
      expect(text.match(/^# TYPE realtime_ws_frames_in_total /gm)).toHaveLength(1);
    }
    await Promise.all(apps.map((app) => app.close()));
  });
});
