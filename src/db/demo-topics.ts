// The demo seed's support topics (src/db/seed.ts plays them): data, kept apart from the generator.

// The labels and tags the demo data uses; a topic draws its own from these.
const LABELS = ["billing", "urgent", "shipping", "returns", "vip", "bug", "feature-request", "onboarding", "refund", "account"] as const;
const TAGS = ["mobile-app", "web", "wholesale"] as const;

/**
 * One support topic: its subject, the labels it may carry, how often it is urgent, and its
 * thread as turns in order. Even turns are the customer's, odd ones the agent's; a turn of
 * several lines is sent as several chat messages (one e-mail). Every script ends with the
 * customer's thanks, so a settled thread ends in a resolution. Placeholders: {order}, {name}
 * (the customer's first name), {agent} (the assignee's).
 */
interface Topic {
  subject: string;
  labels: readonly (typeof LABELS)[number][];
  tags?: readonly (typeof TAGS)[number][];
  /** The share of its prioritised conversations that are HIGH (0.1 when left out). */
  high?: number;
  turns: readonly (string | readonly string[])[];
}

export const TOPICS: readonly Topic[] = [
  {
    // The first topic is the demo conversation's: a customer waiting for an answer on WhatsApp.
    subject: "Order status inquiry",
    labels: ["shipping"],
    turns: [
      ["Hi! Where is my order #{order}?", "It was due yesterday and the tracking page still says 'label created'.", "I need it by Saturday, could someone check?"],
      "Hi {name}, {agent} here, sorry for the wait! The carrier missed Monday's pickup; your parcel left our warehouse this morning.",
      "OK, will it still arrive before Saturday?",
      "Yes, it's booked for delivery on Friday. New tracking link: acme.example/track/{order}",
      "Perfect, thanks for sorting it out!",
    ],
  },
  {
    subject: "Refund request",
    labels: ["refund", "billing"],
    turns: [
      "Hello, I returned order #{order} two weeks ago and still haven't had my refund.",
      "Hi {name}, thanks for your patience. I can see the return reached our warehouse on Tuesday.",
      "So when will the money be back on my card?",
      "I've just approved the refund; it takes 3-5 business days to show on your statement.",
      "Great, thank you!",
    ],
  },
  {
    subject: "Wrong size received",
    labels: ["returns", "shipping"],
    turns: [
      ["Hi, I ordered the linen shirt in M but got an XL.", "Order #{order}."],
      "So sorry about that, {name}! I can send the M today and e-mail you a free return label for the XL.",
      "Yes please. Do I need the original packaging?",
      "Any bag or box will do. The label is in your inbox and the M ships this afternoon.",
      "Got it, thanks a lot.",
    ],
  },
  {
    subject: "Delivery delayed",
    labels: ["shipping"],
    high: 0.3,
    turns: [
      "My parcel #{order} has been 'in transit' for 8 days. Is it lost?",
      "Hi {name}, I've opened an investigation with the carrier; they answer within 48 hours.",
      "It's a birthday present and the party is on Sunday.",
      "Understood. I've sent a replacement by express at no cost, arriving Friday. If the first parcel turns up, just refuse it.",
      "That's really kind, thank you!",
    ],
  },
  {
    subject: "Wholesale pricing",
    labels: ["onboarding", "billing"],
    tags: ["wholesale"],
    turns: [
      "Hi, we run a concept store in Lisbon. Do you offer wholesale prices for 200+ units?",
      "Hello {name}! We do: 40% off retail from 100 units, 45% from 250. Could you share your VAT number?",
      "Sure, it's PT509876543. Is there a minimum per style?",
      "12 units per style. I've opened your trade account and e-mailed you the catalogue and order form.",
      "Received, we'll place our first order next week. Thanks!",
    ],
  },
  {
    subject: "Appointment booking",
    labels: [],
    turns: [
      "Hi, can I book a personal styling appointment at your flagship store?",
      "Of course, {name}! We have Thursday at 11:00 or Saturday at 15:30. Which suits you?",
      "Saturday at 15:30 please.",
      "Booked for Saturday at 15:30 with Marta. You'll get a reminder the day before.",
      "Lovely, see you then!",
    ],
  },
  {
    subject: "Password reset",
    labels: ["account"],
    tags: ["web"],
    turns: [
      "I can't log in and the password reset e-mail never arrives.",
      "Hi {name}, I've resent the reset link. Could you check your spam folder too?",
      "Found it in spam, but the link says it has expired.",
      "Links last 30 minutes; I've sent a fresh one just now, please use it right away.",
      "That worked, I'm in. Thanks!",
    ],
  },
  {
    subject: "Invoice copy",
    labels: ["billing"],
    turns: [
      "Hello, could you send me an invoice for order #{order}? I need it for my company's expenses.",
      "Hi {name}, sure. Which company name and VAT number should it show?",
      "Northwind Trading Ltd, VAT GB123456789.",
      "Here you go: the invoice is on your order page and I've e-mailed you the PDF.",
      "Got it, thank you.",
    ],
  },
  {
    subject: "Damaged item",
    labels: ["returns", "refund", "shipping"],
    high: 0.6,
    turns: [
      ["The ceramic vase from order #{order} arrived in pieces.", "The box was crushed on one side."],
      "I'm so sorry, {name}. Could you send a photo of the vase and the box?",
      "Photos sent just now.",
      "Thank you. A replacement ships today, double-boxed, and you don't need to return the broken one.",
      "Thanks, much appreciated.",
    ],
  },
  {
    subject: "Cancel subscription",
    labels: ["billing", "account"],
    turns: [
      "Hi, I'd like to cancel my monthly sock subscription.",
      "Hi {name}, sorry to see you go! Would you rather pause it for 3 months?",
      "No thanks, please cancel it.",
      "Done: it's cancelled and you won't be charged again. The box already paid for ships on the 1st.",
      "Perfect, thanks.",
    ],
  },
  {
    subject: "Store opening hours",
    labels: [],
    turns: [
      "Are your stores open on Sundays?",
      "Hi {name}! Yes, Sundays from 11:00 to 18:00.",
      "And on public holidays?",
      "Same hours, except 25 December and 1 January, when we're closed.",
      "Great, thanks!",
    ],
  },
  {
    subject: "Product availability",
    labels: [],
    turns: [
      "Will the green rain jacket be back in size S?",
      "Hi {name}, a restock is due in about two weeks. Shall I tell you when it lands?",
      "Yes please, by e-mail.",
      "Done, you're on the list; you'll hear from us the day it's back.",
      "Thank you!",
    ],
  },
  {
    subject: "Warranty claim",
    labels: ["returns"],
    turns: [
      "Hello, the zip on my backpack broke after 5 months. Is that covered by the warranty?",
      "Hi {name}, yes: our bags have a 2-year warranty. Could you send the order number and a photo of the zip?",
      "It's order #{order}, photo attached.",
      "Thanks! We'll repair it free of charge; a courier collects it tomorrow between 9:00 and 13:00.",
      "Excellent service, thank you.",
    ],
  },
  {
    subject: "Change delivery address",
    labels: ["shipping", "account"],
    turns: [
      "I just placed order #{order} with my old address. Can I change it?",
      "Hi {name}, it hasn't shipped yet, so yes. What's the new address?",
      "14 Elm Street, apartment 3B.",
      "Updated: the order ships tomorrow to 14 Elm Street, apartment 3B.",
      "Thanks for the quick help!",
    ],
  },
  {
    subject: "Payment failed",
    labels: ["billing"],
    high: 0.6,
    turns: [
      ["My card was declined at checkout, but my bank shows a charge.", "Now I can't complete the order."],
      "Hi {name}, that's an authorisation hold, not a charge; your bank releases it within 3 days.",
      "OK. Can I pay with PayPal instead?",
      "Yes, PayPal works at checkout, and I've saved your basket so nothing is lost.",
      "Paid with PayPal, all good now. Thanks.",
    ],
  },
  {
    subject: "Coupon code not working",
    labels: ["billing", "bug"],
    turns: [
      "The code SPRING15 says 'invalid' at checkout.",
      "Hi {name}, that code excludes sale items, and your basket has two of them.",
      "Can it apply to the full-price ones at least?",
      "It should have. I've applied the 15% to the full-price items by hand; your basket shows the new total.",
      "Works now, thanks!",
    ],
  },
  {
    subject: "App crashes at checkout",
    labels: ["bug"],
    tags: ["mobile-app"],
    high: 0.3,
    turns: [
      "The app crashes every time I open my basket.",
      "Hi {name}, sorry about that! Which phone and app version are you on?",
      "iPhone 13, iOS 18.1, app version 4.2.0.",
      "Thanks. It's a known bug, fixed in 4.2.1, which is out today: updating the app solves it.",
      "Updated and it works, thanks.",
    ],
  },
  {
    subject: "Exchange for another colour",
    labels: ["returns"],
    turns: [
      "Can I swap the navy sweater from order #{order} for the grey one?",
      "Hi {name}, of course! The grey one is in stock in your size; I'll e-mail you a return label.",
      "Do I pay for the shipping?",
      "No, exchanges are free. The grey one ships as soon as the carrier scans your parcel.",
      "Great, thanks!",
    ],
  },
  {
    subject: "Missing item in parcel",
    labels: ["shipping", "returns"],
    high: 0.3,
    turns: [
      ["My parcel arrived but the belt is missing.", "Order #{order}: I ordered 3 items and got 2."],
      "Hi {name}, sorry for the confusion! The belt shipped separately and arrives tomorrow.",
      "Oh, I didn't know. Is there a tracking number?",
      "Yes, it's in the shipping e-mail, which I've just resent you.",
      "Found it, thanks!",
    ],
  },
  {
    subject: "Loyalty points missing",
    labels: ["account", "billing"],
    turns: [
      "I didn't get loyalty points for my last purchase, order #{order}.",
      "Hi {name}, points appear 14 days after delivery, once the return window closes.",
      "It's been three weeks though.",
      "You're right, the order wasn't linked to your account. I've added the 120 points by hand.",
      "I can see them now, thanks!",
    ],
  },
  {
    subject: "Gift message",
    labels: ["feature-request"],
    turns: [
      "Can I add a gift message to order #{order}? It's a present.",
      "Hi {name}! We can't print messages yet, but we can add a handwritten card. What should it say?",
      "'Happy birthday, Ana! Love, Tom.' And please no prices in the box.",
      "Done: card added, no prices inside. I've also passed your idea of printed messages on to our product team.",
      "Wonderful, thank you!",
    ],
  },
  {
    subject: "Charged twice",
    labels: ["billing", "refund"],
    high: 0.6,
    turns: [
      "I was charged twice for order #{order}!",
      "Hi {name}, I'm sorry. I can see the duplicate payment and I've refunded it just now.",
      "When will I see it?",
      "Within 3-5 business days, depending on your bank. The refund reference is RF-{order}.",
      "OK, thanks for fixing it.",
    ],
  },
  {
    subject: "Delete my account",
    labels: ["account"],
    turns: [
      "Please delete my account and all my data.",
      "Hi {name}, we can do that. To confirm it's you, what's the postcode on your last order?",
      "It's 10115.",
      "Thanks, confirmed. Your account and personal data are erased within 30 days; we'll e-mail you when it's done.",
      "Thank you.",
    ],
  },
  {
    subject: "Size advice",
    labels: [],
    turns: [
      "I'm 1.78 m and 72 kg. Which size of the slim-fit chinos should I get?",
      "Hi {name}! 32/32 fits most people of your height and weight; size up if you like a looser fit.",
      "I usually wear M in tops, does that help?",
      "Yes, M tops usually go with a 32 waist. And returns are free, so you can always swap.",
      "Ordering 32/32 now. Thanks!",
    ],
  },
  {
    subject: "Return status",
    labels: ["returns", "refund"],
    turns: [
      "I sent back order #{order} last Monday. Has it arrived?",
      "Hi {name}, yes, it arrived yesterday and is being checked.",
      "How long does the check take?",
      "Usually 2 business days. You'll get an e-mail as soon as the refund is issued.",
      "OK, thank you.",
    ],
  },
];
