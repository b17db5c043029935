// Ring and ringback tones made with WebAudio on the spot (no sound file), and the phone's
// vibration while a call rings.
const RING = { notes: [[0, 0.4], [0.6, 1.0]], period: 3, frequencies: [660, 880] };
const RINGBACK = { notes: [[0, 1.2]], period: 4, frequencies: [425] };
const VIBRATION = [700, 300, 700, 1300];

function tone(pattern, volume) {
  let context;
  try {
    context = new AudioContext();
  } catch {
    return { playing: false, stop() {} };
  }
  const gain = context.createGain();
  gain.gain.value = 0;
  gain.connect(context.destination);
  const oscillators = pattern.frequencies.map((frequency) => {
    const oscillator = context.createOscillator();
    oscillator.frequency.value = frequency;
    oscillator.connect(gain);
    oscillator.start();
    return oscillator;
  });
  let next = context.currentTime + 0.05;
  // The pattern is scheduled a period ahead, again and again, so a busy page does not stutter it.
  const schedule = () => {
    while (next < context.currentTime + pattern.period) {
      for (const [start, end] of pattern.notes) {
        gain.gain.setTargetAtTime(volume, next + start, 0.01);
        gain.gain.setTargetAtTime(0, next + end, 0.02);
      }
      next += pattern.period;
    }
  };
  schedule();
  const timer = setInterval(schedule, 1000);
  context.resume?.().catch(() => {});
  return {
    get playing() {
      return context.state === 'running';
    },
    stop() {
      clearInterval(timer);
      for (const oscillator of oscillators) oscillator.stop();
      context.close().catch(() => {});
    },
  };
}

export function startRinging() {
  const sound = tone(RING, 0.2);
  const vibrate = () => navigator.vibrate?.(VIBRATION);
  vibrate();
  const timer = setInterval(vibrate, VIBRATION.reduce((sum, each) => sum + each, 0));
  return {
    get playing() {
      return sound.playing;
    },
    stop() {
      sound.stop();
      clearInterval(timer);
      navigator.vibrate?.(0);
    },
  };
}

export function startRingback() {
  return tone(RINGBACK, 0.08);
}
