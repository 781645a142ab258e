/** The part of @cycjimmy/jsmpeg-player (which ships no types) that the video player uses. */
declare module '@cycjimmy/jsmpeg-player' {
  /** What JSMpeg asks of a data source; it constructs the source itself from `options.source`. */
  export interface JsmpegSource {
    streaming: boolean;
    established: boolean;
    completed: boolean;
    progress: number;
    connect(destination: { write(data: ArrayBuffer): void }): void;
    start(): void;
    resume(headroom: number): void;
    destroy(): void;
  }

  export interface JsmpegPlayerOptions {
    canvas?: HTMLCanvasElement;
    source?: new (url: string, options: JsmpegPlayerOptions) => JsmpegSource;
    audio?: boolean;
    video?: boolean;
    disableGl?: boolean;
    disableWebAssembly?: boolean;
    pauseWhenHidden?: boolean;
    videoBufferSize?: number;
    onVideoDecode?: () => void;
  }

  export class Player {
    constructor(url: string, options?: JsmpegPlayerOptions);
    readonly source: JsmpegSource;
    readonly currentTime: number;
    destroy(): void;
  }

  const JSMpeg: { Player: typeof Player };
  export default JSMpeg;
}
