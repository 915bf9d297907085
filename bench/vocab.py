"""Words and sentence shapes for the benchmark data: the talk's council, in natural Japanese
(and some English, as the vendors' engineers write it). Everything is drawn from a seeded
random.Random, so the same seed gives the same text.
"""

from __future__ import annotations

import random

SURNAMES = [
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
    "佐々木",
    "山口",
    "松本",
    "井上",
    "木村",
    "林",
    "斎藤",
    "清水",
    "山崎",
    "森",
    "池田",
    "橋本",
    "阿部",
    "石川",
    "山下",
    "中島",
    "石井",
    "小川",
    "前田",
    "岡田",
    "長谷川",
    "藤田",
    "後藤",
    "近藤",
    "村上",
    "遠藤",
    "青木",
    "坂本",
    "斉藤",
    "福田",
    "太田",
    "西村",
    "藤井",
    "金子",
    "岡本",
    "藤原",
    "中野",
    "三浦",
    "原田",
    "中川",
    "松田",
    "竹内",
    "小野",
    "田村",
    "中山",
    "和田",
    "石田",
    "上田",
]
GIVEN_NAMES = [
    "一郎",
    "花子",
    "誠",
    "健",
    "美咲",
    "大輔",
    "直子",
    "翔",
    "玲奈",
    "由美",
    "寿史",
    "浩",
    "真理",
    "拓也",
    "恵",
    "裕子",
    "明美",
    "和也",
    "聡",
    "智子",
    "大樹",
    "陽子",
    "修",
    "亮",
    "香織",
    "隆",
    "愛",
    "剛",
    "さくら",
    "悠斗",
    "結衣",
    "蓮",
    "葵",
    "健太",
    "美穂",
    "翔太",
    "彩",
    "光",
    "達也",
    "千尋",
]
GUEST_ORGS = ("群馬県 市町村課", "地方公共団体情報システム機構", "渋川市", "藤岡市", "外部監査法人")

SYSTEMS = (
    "住民記録システム",
    "住基ネット",
    "個人住民税システム",
    "固定資産税システム",
    "国保システム",
    "介護保険システム",
    "後期高齢者医療システム",
    "児童手当システム",
    "財務会計システム",
    "人事給与システム",
    "文書管理システム",
    "宛名管理",
    "コンビニ交付",
    "中間サーバー",
    "電子申請システム",
    "標準準拠システム",
    "共通基盤",
    "統合認証基盤",
)
OBJECTS = (
    "帳票",
    "一覧画面",
    "夜間バッチ",
    "CSV出力",
    "納付書",
    "通知書",
    "証明書",
    "台帳",
    "連携ファイル",
    "検索画面",
    "印刷設定",
    "操作マニュアル",
    "移行データ",
    "権限設定",
    "宛名シール",
    "督促状",
    "口座振替データ",
)
PROBLEMS = (
    "が出力されない",
    "で文字化けが発生する",
    "のレイアウトが崩れる",
    "の処理が遅い",
    "でエラーが発生する",
    "の項目が不足している",
    "の件数が合わない",
    "が途中で停止する",
    "の外字が表示されない",
    "の改ページ位置がずれる",
)
ACTIONS = (
    "仕様を確認する",
    "見積を提出する",
    "手順書を更新する",
    "テスト計画を作成する",
    "移行スケジュールを調整する",
    "運用手順を周知する",
    "原因を調査して報告する",
    "影響範囲を洗い出す",
    "庁内の合意を取る",
    "ベンダーに回答を依頼する",
    "改修案を比較する",
    "本番環境で再現を確認する",
    "課内で検討して回答する",
    "県に照会する",
)
TOPICS = (
    "ガバメントクラウド移行",
    "標準化対応",
    "マイナンバー連携",
    "次期システム更改",
    "情報セキュリティ監査",
    "窓口のDX",
    "書かない窓口",
    "電子申請の拡充",
    "外字の同定作業",
    "データ移行リハーサル",
    "年度末の繁忙期対応",
    "住基の制度改正",
    "宿題の棚卸し",
)
EN_SENTENCES = (
    "Check the night batch log and report the cause",
    "Update the test plan for the standard system migration",
    "Confirm the PDF layout of the tax notice with the vendor",
    "Send the revised schedule for the cloud migration rehearsal",
    "Review the access rights of the shared folder",
    "Prepare the release note for version 2.4",
    "Measure the response time of the search screen",
)
NOTES = (
    "確認しました。",
    "ログを添付します。ご確認ください。",
    "本番環境で再現しました。",
    "検証環境で修正を確認しました。",
    "回答が遅くなり申し訳ありません。",
    "来週の定例で説明します。",
    "影響範囲は住民記録のみです。",
    "運用で回避できます。手順は別紙のとおり。",
    "宿題として持ち帰ります。",
    "住基連携の仕様を確認中です。",
    "Fixed in build 2.3.1.",
    "The batch finished normally tonight.",
    "Please check the attached screenshot.",
    "パッチを適用しました。",
    "帳票の見本を共有します。",
    "",
)
PLACES = (
    "本庁舎 5階 第1会議室",
    "本庁舎 3階 情報政策課",
    "オンライン (Teams)",
    "協議会事務局",
    "高崎市役所 12階会議室",
    "伊勢崎市役所 2階会議室",
    "ベンダー社 会議室",
)
MEETING_KINDS = ("定例会", "課題検討会", "仕様確認会", "リリース判定会", "移行打合せ", "運用会議")


class Text:
    def __init__(self, rng: random.Random):
        self.rng = rng

    def pick(self, seq):
        return seq[self.rng.randrange(len(seq))]

    def english(self) -> bool:
        return self.rng.random() < 0.08

    def ticket_subject(self) -> str:
        if self.english():
            return f"{self.pick(SYSTEMS)}: {self.pick(EN_SENTENCES)}"
        return f"{self.pick(SYSTEMS)}の{self.pick(OBJECTS)}{self.pick(PROBLEMS)}"

    def ticket_description(self, subject: str) -> str:
        return (
            f"## 事象\n{subject}\n\n"
            f"- 画面・帳票・データ: {self.pick(OBJECTS)}\n"
            f"- 端末・手順・日付: 窓口端末 {self.rng.randint(1, 40)} 番、"
            f"{self.rng.randint(1, 12)}月{self.rng.randint(1, 28)}日の処理\n"
            f"- 期待した結果との違い: {self.pick(PROBLEMS).lstrip('がでの')}ため業務に支障がある\n"
        )

    def goal(self) -> str:
        if self.english():
            return f"Decide how to handle {self.pick(TOPICS)}"
        return self.pick(
            (
                f"{self.pick(SYSTEMS)}の{self.pick(OBJECTS)}改修の方針を決める",
                f"{self.pick(TOPICS)}の進め方を決める",
                f"前回の宿題を確認し、{self.pick(OBJECTS)}の対応を決める",
                f"{self.rng.randint(1, 12)}月リリースの可否を判定する",
            )
        )

    def result(self) -> str:
        if self.english():
            return f"Agreed: {self.pick(EN_SENTENCES).lower()} by next week"
        return self.pick(
            (
                f"{self.pick(OBJECTS)}は現行どおりの様式で対応することに決定",
                f"リリースは{self.rng.randint(1, 12)}月{self.rng.randint(1, 28)}日に実施する",
                f"{self.pick(SYSTEMS)}の改修は次年度予算で対応する",
                f"{self.pick(TOPICS)}は協議会の共通課題として扱う",
                f"運用で回避し、{self.pick(OBJECTS)}の改修は見送る",
            )
        )

    def homework(self) -> str:
        if self.english():
            return self.pick(EN_SENTENCES)
        return f"{self.pick(SYSTEMS)}の{self.pick(OBJECTS)}について{self.pick(ACTIONS)}"

    def preview(self) -> str:
        if self.english():
            return f"{self.pick(TOPICS)} may affect the {self.pick(OBJECTS)} schedule"
        return self.pick(
            (
                f"来年度の{self.pick(TOPICS)}について検討が必要",
                f"{self.pick(SYSTEMS)}の保守契約の更新時期を確認しておく",
                f"他市の{self.pick(TOPICS)}の事例を共有してもらう",
            )
        )

    def break_note(self) -> str:
        return self.pick(
            (
                f"休憩中に{self.pick(TOPICS)}の話題が出た",
                "庁舎のネットワーク工事の予定を共有",
                f"{self.pick(SYSTEMS)}の研修日程の案内",
            )
        )

    def note(self) -> str:
        return self.pick(NOTES)

    def meeting_title(self, unit_name: str, n: int) -> str:
        return f"{unit_name} {self.pick(MEETING_KINDS)} 第{n}回"

    def place(self) -> str:
        return self.pick(PLACES)

    def person(self) -> str:
        return f"{self.pick(SURNAMES)} {self.pick(GIVEN_NAMES)}"
