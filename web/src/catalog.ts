// What the server offers, as it said when the page loaded: its models, the one
// it uses when none is named (DEFAULT_MODEL), and its languages.
import { listLanguages, listModels, type Language, type ModelInfo, type ModelList } from './api.ts';

class Catalog {
  private modelList: ModelList | null = null;
  private languageList: Language[] = [];

  get models(): readonly ModelInfo[] {
    return this.modelList?.models ?? [];
  }

  /** The server's default model; null until its list has come. */
  get defaultModel(): string | null {
    return this.modelList?.default ?? null;
  }

  get languages(): readonly Language[] {
    return this.languageList;
  }

  /** The API's (English) name of a language, for codes the browser cannot name. */
  languageName(code: string): string | undefined {
    return this.languageList.find((l) => l.code === code)?.name;
  }

  async loadModels(): Promise<void> {
    this.modelList = await listModels();
  }

  async loadLanguages(): Promise<void> {
    this.languageList = await listLanguages();
  }
}

export const catalog = new Catalog();
